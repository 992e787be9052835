import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AnswerOptions, AnswerOrigin, AnswerResult, HistoryMessage } from '../contracts';
import {
  AnswerEntity,
  ConversationEntity,
  MessageEntity,
  type AnswerRecord,
  type AnswerRecordStatus,
  type Conversation,
  type Message,
} from '../db/entities';

/**
 * The one owner of the `answers`, `messages` and `conversations` rows, for the API and the activities alike. Writes
 * are idempotent: a retried request, activity attempt or replay finds its row and leaves it be.
 */

/** A new answer, running; an id this tenant used already keeps its record. */
export async function insertRunningAnswer(
  em: EntityManager,
  a: {
    tenantId: string;
    id: string;
    workflowId: string;
    question: string;
    conversationId?: string;
    origin?: AnswerOrigin;
  },
): Promise<void> {
  await em
    .getConnection()
    .execute(
      `insert into answers (id, tenant_id, workflow_id, conversation_id, question, status, origin) values (?, ?, ?, ?, ?, 'running', ?) on conflict (tenant_id, id) do nothing`,
      [a.id, a.tenantId, a.workflowId, a.conversationId ?? null, a.question, a.origin ?? 'request'],
    );
}

/** Removes a running record whose run never started. */
export async function deleteUnstartedAnswer(em: EntityManager, tenantId: string, id: string): Promise<void> {
  await em.nativeDelete(AnswerEntity, { id, tenantId, status: 'running' });
}

export function findAnswer(em: EntityManager, tenantId: string, id: string): Promise<AnswerRecord | null> {
  return em.findOne(AnswerEntity, { id, tenantId });
}

/** The tenant's answers, newest first, without their full results. */
export function listAnswers(
  em: EntityManager,
  tenantId: string,
  page: { limit: number; before?: Date },
): Promise<AnswerRecord[]> {
  return em.find(
    AnswerEntity,
    // Answers of eval runs and replays are theirs to show (issue 19): the list keeps to requests and chat.
    { tenantId, origin: 'request', ...(page.before ? { createdAt: { $lt: page.before } } : {}) },
    {
      orderBy: { createdAt: 'desc' },
      limit: page.limit,
      fields: [
        'id',
        'tenantId',
        'workflowId',
        'conversationId',
        'origin',
        'question',
        'status',
        'answer',
        'groundingScore',
        'createdAt',
        'completedAt',
      ],
    },
  );
}

export async function holdAnswerForReview(em: EntityManager, tenantId: string, id: string): Promise<void> {
  await em.nativeUpdate(AnswerEntity, { id, tenantId }, { status: 'pending_review' });
}

/** The record completed from the run's result. */
export async function completeAnswerRecord(em: EntityManager, tenantId: string, result: AnswerResult): Promise<void> {
  await em.nativeUpdate(
    AnswerEntity,
    { id: result.answerId, tenantId },
    {
      status: result.status === 'answered' ? 'answered' : 'abstained',
      answer: result.answer,
      groundingScore: result.grounding?.score ?? null,
      result: result as unknown as Record<string, unknown>,
      completedAt: new Date(),
    },
  );
}

/**
 * The record failed with `message`. With `onlyIf`, only while it still has that status (a reconciliation must not
 * overwrite the run's own ending); returns whether it changed.
 */
export async function failAnswerRecord(
  em: EntityManager,
  tenantId: string,
  id: string,
  message: string,
  onlyIf?: AnswerRecordStatus,
): Promise<boolean> {
  const changed = await em.nativeUpdate(
    AnswerEntity,
    { id, tenantId, ...(onlyIf ? { status: onlyIf } : {}) },
    { status: 'failed', result: { error: message }, completedAt: new Date() },
  );
  return changed === 1;
}

export async function createConversation(
  em: EntityManager,
  c: { tenantId: string; title?: string; collectionIds: string[]; options?: Partial<AnswerOptions> },
): Promise<Conversation> {
  const conversation = em.create(ConversationEntity, {
    id: randomUUID(),
    tenantId: c.tenantId,
    title: c.title ?? null,
    collectionIds: c.collectionIds,
    options: c.options ?? {},
  });
  await em.flush();
  return conversation;
}

export function listConversations(em: EntityManager, tenantId: string, limit = 100): Promise<Conversation[]> {
  return em.find(ConversationEntity, { tenantId }, { orderBy: { updatedAt: 'desc' }, limit });
}

export function findConversation(em: EntityManager, tenantId: string, id: string): Promise<Conversation | null> {
  return em.findOne(ConversationEntity, { id, tenantId });
}

/** A conversation's messages in order, a question before its reply. */
export function listMessages(em: EntityManager, tenantId: string, conversationId: string): Promise<Message[]> {
  return em.find(MessageEntity, { tenantId, conversationId }, { orderBy: { createdAt: 'asc', role: 'desc' } });
}

/** The last `limit` turns before the answer `answerId`, oldest first. */
export async function conversationHistory(
  em: EntityManager,
  tenantId: string,
  conversationId: string,
  answerId: string,
  limit: number,
): Promise<HistoryMessage[]> {
  const latest = await em.find(
    MessageEntity,
    { tenantId, conversationId, answerId: { $ne: answerId } },
    { orderBy: { createdAt: 'desc' }, limit },
  );
  return latest.reverse().map((m) => ({ role: m.role, content: m.content }));
}

/**
 * One turn of the conversation, once per answer and role; the assistant's reply also marks the conversation as
 * updated.
 */
export async function addMessage(
  em: EntityManager,
  m: { tenantId: string; conversationId: string; role: Message['role']; content: string; answerId: string },
): Promise<void> {
  const conn = em.getConnection();
  await conn.execute(
    `insert into messages (id, tenant_id, conversation_id, role, content, answer_id) values (?, ?, ?, ?, ?, ?) on conflict (conversation_id, answer_id, role) do nothing`,
    [randomUUID(), m.tenantId, m.conversationId, m.role, m.content, m.answerId],
  );
  if (m.role === 'assistant')
    await em.nativeUpdate(
      ConversationEntity,
      { id: m.conversationId, tenantId: m.tenantId },
      { updatedAt: new Date() },
    );
}
