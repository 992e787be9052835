import OpenAI, { AzureOpenAI } from 'openai';
import type {
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import type {
  ChatMessage,
  EmbedResult,
  GenerateOptions,
  GenerateResult,
  LlmProvider,
  ProviderCallOptions,
  ToolCall,
} from '../types';
import { groupBySize } from '../../contracts/group-by-size';

export interface OpenAiProviderOptions {
  apiKey: string;
  /** Any OpenAI-compatible endpoint (Ollama, vLLM, LM Studio, LiteLLM); unset for OpenAI itself. */
  baseURL?: string;
  /** Azure OpenAI: the resource endpoint and API version (the model names are deployment names). */
  azure?: { endpoint: string; apiVersion: string };
  /** The provider's per-request limits for embeddings: at most this many inputs... */
  maxEmbeddingInputs?: number;
  /** ...and about this many tokens (estimated as characters / 4). */
  maxEmbeddingTokens?: number;
  /** Sent as `dimensions` for models that can shorten their embeddings (text-embedding-3-*). */
  embeddingDimensions?: number;
}

const estimateTokens = (text: string) => Math.ceil(text.length / 4);

function toOpenAiMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    if (m.role === 'tool') return { role: 'tool', content: m.content ?? '', tool_call_id: m.toolCallId ?? '' };
    if (m.role === 'assistant') {
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    }
    return { role: m.role, content: m.content ?? '' };
  });
}

/**
 * OpenAI, Azure OpenAI and any OpenAI-compatible endpoint through the official SDK. The SDK's own retries are
 * off: Temporal retries the activity, so every attempt is visible, recorded and bounded by one policy.
 */
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai' as const;
  private readonly client: OpenAI;

  constructor(private readonly opts: OpenAiProviderOptions) {
    this.client = opts.azure
      ? new AzureOpenAI({
          apiKey: opts.apiKey,
          endpoint: opts.azure.endpoint,
          apiVersion: opts.azure.apiVersion,
          maxRetries: 0,
        })
      : new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0 });
  }

  /** Splits inputs into requests within the provider's input-count and token limits, keeping order. */
  batches(texts: string[]): string[][] {
    const maxInputs = this.opts.maxEmbeddingInputs ?? 2048;
    const maxTokens = this.opts.maxEmbeddingTokens ?? 300_000;
    return groupBySize(texts.map(estimateTokens), { maxItems: maxInputs, maxSize: maxTokens }).map((group) =>
      group.map((i) => texts[i]!),
    );
  }

  async embed(texts: string[], opts: ProviderCallOptions): Promise<EmbedResult> {
    const vectors: number[][] = [];
    let inputTokens = 0;
    let model = opts.model;
    for (const batch of this.batches(texts)) {
      const res = await this.client.embeddings.create(
        {
          model: opts.model,
          input: batch,
          encoding_format: 'float',
          ...(this.opts.embeddingDimensions ? { dimensions: this.opts.embeddingDimensions } : {}),
        },
        { signal: opts.signal, timeout: opts.timeoutMs },
      );
      const ordered = [...res.data].sort((a, b) => a.index - b.index);
      if (ordered.length !== batch.length)
        throw new SyntaxError(`expected ${batch.length} embeddings, got ${ordered.length}`);
      for (const d of ordered) vectors.push(d.embedding);
      inputTokens += res.usage?.prompt_tokens ?? 0;
      model = res.model || model;
    }
    return { vectors, usage: { inputTokens, outputTokens: 0 }, model, dimensions: vectors[0]?.length ?? 0 };
  }

  async generate(messages: ChatMessage[], opts: ProviderCallOptions & GenerateOptions): Promise<GenerateResult> {
    const tools: ChatCompletionTool[] | undefined = opts.tools?.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
    const body: ChatCompletionCreateParams = {
      model: opts.model,
      messages: toOpenAiMessages(messages),
      ...(tools?.length ? { tools } : {}),
      ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
      ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
      ...(opts.responseFormat?.type === 'json_schema'
        ? {
            response_format: {
              type: 'json_schema',
              json_schema: {
                name: opts.responseFormat.name,
                schema: opts.responseFormat.schema,
                strict: opts.responseFormat.strict ?? true,
              },
            },
          }
        : opts.responseFormat?.type === 'json_object'
          ? { response_format: { type: 'json_object' } }
          : {}),
    };
    const request = { signal: opts.signal, timeout: opts.timeoutMs };

    if (!opts.stream) {
      const res = await this.client.chat.completions.create({ ...body, stream: false }, request);
      const choice = res.choices[0];
      if (!choice) throw new SyntaxError('the response has no choices');
      return {
        text: choice.message.content ?? '',
        toolCalls: (choice.message.tool_calls ?? [])
          .filter((c) => c.type === 'function')
          .map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
        finishReason: choice.finish_reason ?? 'stop',
        usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
        model: res.model || opts.model,
      };
    }

    const stream = await this.client.chat.completions.create(
      { ...body, stream: true, stream_options: { include_usage: true } },
      request,
    );
    let text = '';
    let finishReason = 'stop';
    let model = opts.model;
    const usage = { inputTokens: 0, outputTokens: 0 };
    const calls = new Map<number, ToolCall>();
    for await (const chunk of stream) {
      model = chunk.model || model;
      if (chunk.usage) usage.inputTokens = chunk.usage.prompt_tokens;
      if (chunk.usage) usage.outputTokens = chunk.usage.completion_tokens;
      const choice = chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta;
      if (delta?.content) {
        text += delta.content;
        opts.onToken?.(delta.content);
      }
      for (const tc of delta?.tool_calls ?? []) {
        const call = calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) call.arguments += tc.function.arguments;
        calls.set(tc.index, call);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    return {
      text,
      toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c),
      finishReason,
      usage,
      model,
    };
  }
}
