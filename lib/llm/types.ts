/**
 * The LLM gateway's contract. Every LLM call in BeyondCloud (embeddings, generation, grounding judgements, agent
 * turns) goes through `LlmGateway` (lib/llm/gateway.ts), which picks a provider and model per purpose, records
 * usage and cost, and classifies errors for Temporal. Providers only talk to a model.
 */

export type LlmPurpose = 'embedding' | 'answer' | 'judge' | 'agent';
export type ProviderName = 'openai' | 'local';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, as the model produced it (may be invalid JSON: the caller validates). */
  arguments: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  /** Assistant turns that called tools. */
  toolCalls?: ToolCall[];
  /** Tool results: the id of the call they answer. */
  toolCallId?: string;
}

export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export type ResponseFormat =
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean }
  | { type: 'json_object' };

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface ProviderCallOptions {
  model: string;
  signal?: AbortSignal;
  timeoutMs: number;
}

export interface GenerateOptions {
  tools?: ToolSpec[];
  responseFormat?: ResponseFormat;
  temperature?: number;
  maxTokens?: number;
  /** Stream tokens: `onToken` receives each text delta as it arrives; the result is the same as without. */
  stream?: boolean;
  onToken?: (delta: string) => void;
}

export interface GenerateResult {
  text: string;
  toolCalls: ToolCall[];
  /** 'stop' | 'tool_calls' | 'length' | 'content_filter' | ... as the provider reports it. */
  finishReason: string;
  usage: Usage;
  /** The model that answered (may differ from the requested one, e.g. a dated snapshot). */
  model: string;
}

export interface EmbedResult {
  vectors: number[][];
  usage: Usage;
  model: string;
  dimensions: number;
}

export interface LlmProvider {
  readonly name: ProviderName;
  embed(texts: string[], opts: ProviderCallOptions): Promise<EmbedResult>;
  generate(messages: ChatMessage[], opts: ProviderCallOptions & GenerateOptions): Promise<GenerateResult>;
  /** Releases what the provider holds (a loaded model); calls after it may load it again. */
  close?(): Promise<void>;
}
