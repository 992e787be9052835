/**
 * Fetches the local provider's model files into LOCAL_MODELS_DIR (see lib/llm/local-models.ts), checks them, and
 * embeds one sentence with each to prove they load. Prints each model's folder.
 *
 *   npm run models
 */
import { ConfigError, loadConfig } from '../lib/config';
import { join } from 'node:path';
import { LOCAL_MODELS } from '../lib/llm/local-models';
import { LocalProvider } from '../lib/llm/providers/local';

try {
  const { localModels } = loadConfig().llm;
  const provider = new LocalProvider({ models: { ...localModels, log: (l) => console.error(l) } });
  for (const spec of LOCAL_MODELS) {
    // The first call fetches (when missing) and verifies the files, then loads and runs the model.
    const started = performance.now();
    const { vectors } = await provider.embed(['BeyondCloud checks that the model loads.'], {
      model: spec.model,
      timeoutMs: 60_000,
    });
    if (vectors[0]?.length !== spec.dimensions)
      throw new Error(`${spec.model}: expected ${spec.dimensions} dimensions, got ${vectors[0]?.length}`);
    console.error(
      `${spec.model}: ok (${spec.dimensions} dimensions, loaded and ran in ${Math.round(performance.now() - started)} ms)`,
    );
    console.log(join(localModels.dir, spec.name));
  }
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : (e as Error).message);
  process.exit(1);
}
