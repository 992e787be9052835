import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';

export interface Conversation {
  id: string;
  tenantId: string;
  title?: string | null;
  collectionIds: string[];
  /** Answer options applied to every message (topK, model, grounding threshold, policy). */
  options: Record<string, unknown>;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const ConversationEntity = new EntitySchema<Conversation>({
  name: 'Conversation',
  tableName: 'conversations',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    title: { type: 'text', nullable: true },
    collectionIds: { type: 'uuid[]', columnType: 'uuid[]' },
    options: { type: 'json', default: '{}' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export type AnswerRecordStatus = 'running' | 'pending_review' | 'answered' | 'abstained' | 'failed';

export interface AnswerRecord {
  id: string;
  tenantId: string;
  workflowId: string;
  conversationId?: string | null;
  question: string;
  status: AnswerRecordStatus;
  answer?: string | null;
  groundingScore?: number | null;
  /** The full result (lib/contracts AnswerResult) once the run ends. */
  result?: Record<string, unknown> | null;
  createdAt: Opt<Date>;
  completedAt?: Date | null;
  /** Checked again after a document it cited changed (lib/contracts AnswerFreshness); null until then. */
  freshness?: string | null;
  freshnessCheckedAt?: Date | null;
  freshnessDetail?: Record<string, unknown> | null;
  /** `request` (API or chat), `eval` or `replay` (lib/contracts AnswerOrigin). */
  origin: Opt<string>;
}

export const AnswerEntity = new EntitySchema<AnswerRecord>({
  name: 'Answer',
  tableName: 'answers',
  properties: {
    // Keyed per tenant: clients choose answer ids, and another tenant's id must read as unused.
    tenantId: { type: 'uuid', primary: true },
    id: { type: 'uuid', primary: true },
    workflowId: { type: 'text', unique: true },
    conversationId: { type: 'uuid', nullable: true },
    question: { type: 'text' },
    status: { type: 'text' },
    answer: { type: 'text', nullable: true },
    groundingScore: { type: 'double', nullable: true },
    result: { type: 'json', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    freshness: { type: 'text', nullable: true },
    freshnessCheckedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    freshnessDetail: { type: 'json', nullable: true },
    origin: { type: 'text', default: 'request' },
  },
});

export interface Message {
  id: string;
  tenantId: string;
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  answerId?: string | null;
  createdAt: Opt<Date>;
}

export const MessageEntity = new EntitySchema<Message>({
  name: 'Message',
  tableName: 'messages',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    conversationId: { type: 'uuid' },
    role: { type: 'text' },
    content: { type: 'text' },
    answerId: { type: 'uuid', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export const answerEntities = [ConversationEntity, AnswerEntity, MessageEntity];
