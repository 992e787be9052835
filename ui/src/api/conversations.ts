import type { AnswerRecord, AskInput } from './answer-types';
import { request } from './request';

/** Shapes of the conversations routes (POST/GET /v1/conversations, POST /v1/conversations/:id/messages). */

/** The answer options a conversation keeps for every question asked in it. */
export type ConversationOptions = Pick<AskInput, 'topK' | 'groundingThreshold' | 'policy'>;

export interface Conversation {
  id: string;
  tenantId: string;
  title: string | null;
  collectionIds: string[];
  options: ConversationOptions;
  createdAt: string;
  updatedAt: string;
}

/** One turn as stored: the user's question and, once answered, the assistant's reply, both keyed by the answer. */
export interface ConversationMessage {
  id: string;
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  answerId: string;
  createdAt: string;
}

export interface ConversationWithMessages extends Conversation {
  messages: ConversationMessage[];
}

const conversationPath = (id: string) => `/v1/conversations/${encodeURIComponent(id)}`;

export function listConversations(signal?: AbortSignal): Promise<{ conversations: Conversation[] }> {
  return request<{ conversations: Conversation[] }>('/v1/conversations', { signal });
}

export function getConversation(id: string, signal?: AbortSignal): Promise<ConversationWithMessages> {
  return request<ConversationWithMessages>(conversationPath(id), { signal });
}

export function createConversation(input: {
  title?: string;
  collectionIds: string[];
  options: ConversationOptions;
}): Promise<Conversation> {
  return request<Conversation>('/v1/conversations', { method: 'POST', body: input });
}

/**
 * Asks a question in the conversation. Without `?wait=true` the API answers 202 at once with the running answer, so
 * the console follows its events (tokens included) from the start; `id` makes a retry the same question.
 */
export function sendMessage(conversationId: string, input: { content: string; id?: string }): Promise<AnswerRecord> {
  return request<AnswerRecord>(`${conversationPath(conversationId)}/messages`, { method: 'POST', body: input });
}
