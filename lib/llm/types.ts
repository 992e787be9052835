/**
 * The LLM gateway's contract. Every LLM call in BeyondCloud (embeddings, generation, grounding judgements, agent
 * turns) goes through `LlmGateway` (lib/llm/gateway.ts), which picks a provider and model per purpose, records
 * usage and cost, and classifies errors for Temporal. Providers only talk to a model.
 */

// The shapes workflows see too live in lib/contracts (workflow-safe); the gateway's own are below.
export type {
  ChatMessage,
  GenerateResult,
  LlmPurpose,
  ProviderName,
  ResponseFormat,
  ToolCall,
  ToolSpec,
  Usage,
} from '../contracts/llm';
import type { ChatMessage, GenerateResult, ProviderName, ResponseFormat, ToolSpec, Usage } from '../contracts/llm';

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
