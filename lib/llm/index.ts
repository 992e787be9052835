import type { Config } from '../config';
import type { Orm } from '../db/orm';
import { TenantSettings } from '../settings';
import type { Logger } from '../log';
import { LlmGateway } from './gateway';
import { DEFAULT_PRICES } from './prices';
import { LocalProvider } from './providers/local';
import { OpenAiProvider } from './providers/openai';
import type { LlmProvider, ProviderName } from './types';

export { LlmGateway, type LlmCallContext } from './gateway';
export { LLM_FAILURES } from './errors';
export { tokensUsedToday } from './usage';
export { resolveEmbeddingModel, type EmbeddingModelResolution } from './local-models';
export type * from './types';

/**
 * The gateway as configured: the local provider is always there (offline default); the OpenAI-compatible one
 * when an endpoint is configured. `config` must have gone through resolveConfigSecrets (the key is a value here).
 */
export function createLlmGateway({ config, orm, log }: { config: Config; orm: Orm; log?: Logger }): LlmGateway {
  const llm = config.llm;
  const providers: Partial<Record<ProviderName, LlmProvider>> = {
    local: new LocalProvider({
      models: {
        dir: llm.localModels.dir,
        mavenUrl: llm.localModels.mavenUrl,
        threads: llm.localModels.threads,
        log: (line) => log?.info(line),
      },
    }),
  };
  if (llm.provider === 'openai') {
    providers.openai = new OpenAiProvider({
      apiKey: llm.apiKey ?? 'not-needed',
      baseURL: llm.baseURL,
      azure: llm.azure,
      embeddingDimensions: llm.embeddingDimensions,
    });
  }
  const settings = new TenantSettings(orm);
  // LlmGateway.route sends local models (local-*) to the local provider, whichever provider serves the rest.
  const route = (model: string) => ({ provider: llm.provider, model });
  return new LlmGateway({
    config: {
      routes: {
        embedding: route(llm.models.embedding),
        answer: route(llm.models.answer),
        judge: route(llm.models.judge),
        agent: route(llm.models.agent),
      },
      prices: { ...DEFAULT_PRICES, ...llm.prices },
      timeoutMs: llm.timeoutMs,
      dailyTokenBudget: llm.dailyTokenBudget,
    },
    orm,
    providers,
    log,
    tenantModels: (tenantId) => settings.models(tenantId),
  });
}
