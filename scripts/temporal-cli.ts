/** Finds or installs the pinned Temporal CLI (see lib/temporal/cli.ts) and prints its path. */
import { ConfigError, loadConfig } from '../lib/config';
import { acquireTemporalCli } from '../lib/temporal/cli';

try {
  const config = loadConfig();
  const path = await acquireTemporalCli({
    explicitPath: config.temporal.cliPath,
    cacheDir: config.temporal.cliCacheDir,
    log: (l) => console.error(l),
  });
  console.log(path);
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : (e as Error).message);
  process.exit(1);
}
