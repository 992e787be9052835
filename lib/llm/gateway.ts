import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { applicationFailure } from '../contracts/failures';
import { LlmCallEntity } from '../db/entities';
import type { Orm } from '../db/orm';
import type { Logger } from '../log';
import { ATTR, GENAI } from '../telemetry/attributes';
import { classifyLlmError, isAbort, LLM_FAILURES } from './errors';
import type { SentenceEncoder } from './encoder';
import { isLocalModel } from './local-models';
import { costUsd, priceOf, type ModelPrice } from './prices';
import { tokensUsedToday } from './usage';
import type {
  ChatMessage,
  EmbedResult,
  GenerateOptions,
  GenerateResult,
  LlmProvider,
  LlmPurpose,
  ProviderName,
  Usage,
} from './types';

export interface LlmRoute {
  provider: ProviderName;
  model: string;
}

export interface LlmGatewayConfig {
  routes: Record<LlmPurpose, LlmRoute>;
  prices: Record<string, ModelPrice>;
  timeoutMs: number;
  /** Tokens (input + output) a tenant may use per UTC day; 0 = no limit. */
  dailyTokenBudget: number;
}

/** Who is calling: the tenant, and the workflow run and activity attempt it is charged to. */
export interface LlmCallContext {
  tenantId: string;
  workflowId?: string;
  runId?: string;
  activityId?: string;
  attempt?: number;
  /** Aborts the HTTP request, e.g. the activity's cancellation signal. */
  signal?: AbortSignal;
}

const tracer = trace.getTracer('beyondcloud-llm');

/**
 * The one way to call a model. Resolves provider and model per purpose, refuses calls past the tenant's daily
 * token budget, records every attempt (success or failure) in `llm_calls` with tokens, cost and latency, opens a
 * GenAI span under the current (activity) span, and turns provider errors into Temporal failures with stable types.
 */
export class LlmGateway {
  private readonly unknownPrices = new Set<string>();

  constructor(
    private readonly deps: {
      config: LlmGatewayConfig;
      orm: Orm;
      providers: Partial<Record<ProviderName, LlmProvider>>;
      log?: Logger;
      /** The tenant's own default model per purpose (lib/settings), for a call that names none. */
      tenantModels?: (tenantId: string) => Promise<Partial<Record<LlmPurpose, string>>>;
    },
  ) {}

  /** The purpose's route (or its provider with another model); local models (`local-*`) always go to the local provider. */
  route(purpose: LlmPurpose, model?: string): LlmRoute {
    const route = this.deps.config.routes[purpose];
    const chosen = model ?? route.model;
    return { provider: isLocalModel(chosen) && this.deps.providers.local ? 'local' : route.provider, model: chosen };
  }

  embed(
    ctx: LlmCallContext,
    texts: string[],
    opts: { purpose?: LlmPurpose; model?: string } = {},
  ): Promise<EmbedResult> {
    const purpose = opts.purpose ?? 'embedding';
    return this.call(ctx, purpose, 'embeddings', opts.model, (provider, model, signal) =>
      provider.embed(texts, { model, signal, timeoutMs: this.deps.config.timeoutMs }),
    );
  }

  generate(
    ctx: LlmCallContext,
    messages: ChatMessage[],
    opts: GenerateOptions & { purpose: LlmPurpose; model?: string },
  ): Promise<GenerateResult> {
    return this.call(ctx, opts.purpose, 'chat', opts.model, (provider, model, signal) =>
      provider.generate(messages, { ...opts, model, signal, timeoutMs: this.deps.config.timeoutMs }),
    );
  }

  /**
   * The local provider's sentence encoder (./encoder.ts), for the offline pieces that need meaning: the grounding
   * checker and the extractive answerer. Null without a local provider. Calls through it are not recorded in
   * `llm_calls`: they are in-process and free.
   */
  localEncoder(): SentenceEncoder | null {
    const local = this.deps.providers.local as (LlmProvider & { encoder?: SentenceEncoder }) | undefined;
    return local?.encoder ?? null;
  }

  /** Releases what the providers hold (the local model's session); for the process's shutdown. */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.deps.providers).map((p) => p?.close?.()));
  }

  /** Tokens the tenant has used today (UTC), all purposes. */
  tokensUsedToday(tenantId: string): Promise<number> {
    return tokensUsedToday(this.deps.orm, tenantId);
  }

  private async call<T extends { usage: Usage; model: string }>(
    ctx: LlmCallContext,
    purpose: LlmPurpose,
    operation: 'chat' | 'embeddings',
    modelOverride: string | undefined,
    run: (provider: LlmProvider, model: string, signal?: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const tenantDefault =
      modelOverride === undefined ? (await this.deps.tenantModels?.(ctx.tenantId))?.[purpose] : undefined;
    const { provider: providerName, model } = this.route(purpose, modelOverride ?? tenantDefault);
    const provider = this.deps.providers[providerName];
    if (!provider) {
      throw applicationFailure(
        LLM_FAILURES.notConfigured,
        `No ${providerName} provider is configured for ${purpose} calls.`,
      );
    }
    const budget = this.deps.config.dailyTokenBudget;
    if (budget > 0) {
      const used = await this.tokensUsedToday(ctx.tenantId);
      if (used >= budget) {
        await this.record(ctx, {
          purpose,
          provider: providerName,
          model,
          usage: { inputTokens: 0, outputTokens: 0 },
          latencyMs: 0,
          outcome: 'refused',
          errorType: LLM_FAILURES.budgetExceeded,
        });
        throw applicationFailure(
          LLM_FAILURES.budgetExceeded,
          `The tenant's daily LLM token budget (${budget} tokens) is used up (${used} used today); it resets at 00:00 UTC.`,
        );
      }
    }

    return tracer.startActiveSpan(
      `${operation} ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [GENAI.system]: providerName,
          [GENAI.operation]: operation,
          [GENAI.requestModel]: model,
          [ATTR.tenantId]: ctx.tenantId,
          'bc.llm.purpose': purpose,
          ...(ctx.workflowId ? { [ATTR.workflowId]: ctx.workflowId } : {}),
          ...(ctx.runId ? { [ATTR.runId]: ctx.runId } : {}),
        },
      },
      async (span) => {
        const started = performance.now();
        try {
          const result = await run(provider, model, ctx.signal);
          const latencyMs = Math.round(performance.now() - started);
          span.setAttributes({
            [GENAI.responseModel]: result.model,
            [GENAI.inputTokens]: result.usage.inputTokens,
            [GENAI.outputTokens]: result.usage.outputTokens,
          });
          await this.record(ctx, {
            purpose,
            provider: providerName,
            model: result.model || model,
            usage: result.usage,
            latencyMs,
            outcome: 'ok',
          });
          return result;
        } catch (err) {
          const latencyMs = Math.round(performance.now() - started);
          const aborted = isAbort(err) || ctx.signal?.aborted;
          const failure = aborted ? undefined : classifyLlmError(err);
          span.setStatus({ code: SpanStatusCode.ERROR, message: aborted ? 'cancelled' : failure!.message });
          span.setAttribute('error.type', aborted ? 'cancelled' : (failure!.type ?? 'unknown'));
          await this.record(ctx, {
            purpose,
            provider: providerName,
            model,
            usage: { inputTokens: 0, outputTokens: 0 },
            latencyMs,
            outcome: aborted ? 'cancelled' : 'error',
            errorType: aborted ? 'cancelled' : (failure!.type ?? undefined),
          });
          throw aborted ? err : failure;
        } finally {
          span.end();
        }
      },
    );
  }

  private async record(
    ctx: LlmCallContext,
    r: {
      purpose: LlmPurpose;
      provider: ProviderName;
      model: string;
      usage: Usage;
      latencyMs: number;
      outcome: string;
      errorType?: string;
    },
  ) {
    const price = priceOf(this.deps.config.prices, r.model);
    if (!price && !this.unknownPrices.has(r.model)) {
      this.unknownPrices.add(r.model);
      this.deps.log?.warn(
        { model: r.model },
        'no price for this model in LLM_PRICES: its calls are recorded at cost 0',
      );
    }
    try {
      await this.deps.orm.em.fork().insert(LlmCallEntity, {
        id: crypto.randomUUID(),
        tenantId: ctx.tenantId,
        purpose: r.purpose,
        provider: r.provider,
        model: r.model,
        inputTokens: r.usage.inputTokens,
        outputTokens: r.usage.outputTokens,
        costUsd: costUsd(price, r.usage.inputTokens, r.usage.outputTokens).toFixed(8),
        latencyMs: r.latencyMs,
        outcome: r.outcome,
        errorType: r.errorType ?? null,
        workflowId: ctx.workflowId ?? null,
        runId: ctx.runId ?? null,
        activityId: ctx.activityId ?? null,
        attempt: ctx.attempt ?? null,
        createdAt: new Date(),
      });
    } catch (e) {
      // Usage accounting must not turn a good answer into a failure; it is logged for the operator instead.
      this.deps.log?.error({ err: (e as Error).message, tenantId: ctx.tenantId }, 'could not record an LLM call');
    }
  }
}
