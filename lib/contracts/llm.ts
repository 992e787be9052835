/** Model-call shapes that cross the workflow boundary (the gateway's contract is lib/llm/types.ts). */

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
  { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean } | { type: 'json_object' };

export interface Usage {
  inputTokens: number;
  outputTokens: number;
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
