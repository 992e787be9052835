import type { QueryResult } from '@mikro-orm/core';
import type { RetentionKind } from '../contracts';
import type { Orm } from '../db/orm';
import type { BlobStore } from '../storage/blobs';

/**
 * Deleting one tenant's data below a cutoff, one kind at a time (the `retention` batch job, activities/retention.ts).
 * Every statement is scoped by `tenant_id = ?` and deletes at most one batch, in its own short transaction (PGlite is
 * one session: nothing is held open across batches). The cutoff is the caller's, fixed once per run, so a repeated
 * call deletes what is left of the same set and a second run deletes nothing.
 */

/** Rows per statement: small enough for a short transaction and little lock time, big enough to be quick. */
export const RETENTION_BATCH_SIZE = 5_000;

/** Answers in these states (an array literal) are finished; a running one or one held for review is kept whatever its age. */
const FINISHED_ANSWER_STATUSES = '{answered,abstained,failed}';

export interface RetentionDeps {
  orm: Orm;
  blobs: BlobStore;
}

export interface DeleteExpiredOptions {
  batchSize?: number;
  /** Called after each batch with the running total (the activity heartbeats with it). */
  onProgress?: (deleted: number) => void;
}

/** Deletes the tenant's rows (files for `blobs`) of `kind` older than `cutoff`; returns how many it deleted. */
export async function deleteExpired(
  deps: RetentionDeps,
  kind: RetentionKind,
  tenantId: string,
  cutoff: Date,
  opts: DeleteExpiredOptions = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? RETENTION_BATCH_SIZE;
  if (kind === 'blobs') return deleteUnreferencedBlobs(deps, tenantId, cutoff, batchSize, opts.onProgress);
  const batch = BATCHES[kind];
  let deleted = 0;
  for (;;) {
    const n = await deps.orm.em.fork().transactional(async (em) => {
      const conn = em.getConnection();
      const tx = em.getTransactionContext();
      const run = async (sql: string, params: unknown[]) =>
        (await conn.execute<QueryResult>(sql, params, 'run', tx)).affectedRows;
      return batch(run, tenantId, cutoff, batchSize);
    });
    deleted += n;
    opts.onProgress?.(deleted);
    if (n < batchSize) break;
  }
  if (kind === 'answers') await deleteEmptyConversations(deps.orm, tenantId, cutoff, batchSize);
  return deleted;
}

type Run = (sql: string, params: unknown[]) => Promise<number>;
type Batch = (run: Run, tenantId: string, cutoff: Date, batchSize: number) => Promise<number>;

/** One batch of each kind: deletes up to `batchSize` rows and returns how many (all of them in one transaction). */
const BATCHES: Record<Exclude<RetentionKind, 'blobs'>, Batch> = {
  /**
   * Finished answers with their conversation turns: both messages of an answer (the question and the reply) go with
   * it, so a conversation never shows a turn whose answer is gone. A conversation left with no turn is removed after.
   */
  answers: (run, tenantId, cutoff, batchSize) =>
    run(
      `with doomed as (
         select id, conversation_id from answers
         where tenant_id = ? and created_at < ? and status = any(?::text[])
         order by created_at limit ?
       ), turns as (
         delete from messages m using doomed d
         where m.tenant_id = ? and m.conversation_id = d.conversation_id and m.answer_id = d.id
       )
       delete from answers a using doomed d where a.tenant_id = ? and a.id = d.id`,
      [tenantId, cutoff, FINISHED_ANSWER_STATUSES, batchSize, tenantId, tenantId],
    ),
  runEvents: (run, tenantId, cutoff, batchSize) =>
    run(
      `delete from run_events where tenant_id = ? and id in (
         select id from run_events where tenant_id = ? and created_at < ? order by created_at limit ?)`,
      [tenantId, tenantId, cutoff, batchSize],
    ),
  spans: (run, tenantId, cutoff, batchSize) =>
    run(
      `delete from spans where tenant_id = ? and (trace_id, span_id) in (
         select trace_id, span_id from spans where tenant_id = ? and start_time < ? order by start_time limit ?)`,
      [tenantId, tenantId, cutoff, batchSize],
    ),
  modelCalls: (run, tenantId, cutoff, batchSize) =>
    run(
      `delete from llm_calls where tenant_id = ? and id in (
         select id from llm_calls where tenant_id = ? and created_at < ? order by created_at limit ?)`,
      [tenantId, tenantId, cutoff, batchSize],
    ),
  /**
   * The audit log is append-only (Migration20261202110000_audit): its trigger lets a DELETE through only in a
   * transaction that set `beyondcloud.audit_prune`. Entries are not chained, so what is left stays as verifiable as
   * before; the oldest entries go first, leaving no gap in the middle of the log.
   */
  audit: async (run, tenantId, cutoff, batchSize) => {
    await run(`set local beyondcloud.audit_prune = 'on'`, []);
    return run(
      `delete from audit_log where tenant_id = ? and id in (
         select id from audit_log where tenant_id = ? and at < ? order by id limit ?)`,
      [tenantId, tenantId, cutoff, batchSize],
    );
  },
};

/** Conversations not touched since the cutoff that no longer hold an answer or a message. */
async function deleteEmptyConversations(orm: Orm, tenantId: string, cutoff: Date, batchSize: number): Promise<void> {
  for (;;) {
    const res = await orm.em.getConnection().execute<QueryResult>(
      `delete from conversations where tenant_id = ? and id in (
         select c.id from conversations c
         where c.tenant_id = ? and c.updated_at < ?
           and not exists (select 1 from answers a where a.tenant_id = c.tenant_id and a.conversation_id = c.id)
           and not exists (select 1 from messages m where m.tenant_id = c.tenant_id and m.conversation_id = c.id)
         limit ?)`,
      [tenantId, tenantId, cutoff, batchSize],
      'run',
    );
    if (res.affectedRows < batchSize) return;
  }
}

/**
 * Files of the tenant's blob store that no document of the tenant references (by `blob_sha256` or `content_hash`)
 * and that were last written before the cutoff: the cutoff is the grace period of an upload whose document row is
 * not written yet. Each file's age is checked again right before it is deleted.
 */
async function deleteUnreferencedBlobs(
  { orm, blobs }: RetentionDeps,
  tenantId: string,
  cutoff: Date,
  batchSize: number,
  onProgress?: (deleted: number) => void,
): Promise<number> {
  let deleted = 0;
  const sweep = async (candidates: string[]) => {
    if (!candidates.length) return;
    const shas = `{${candidates.join(',')}}`; // an array literal: knex would spread a JS array into a list
    const rows = await orm.em.getConnection().execute<Array<{ sha256: string }>>(
      `select blob_sha256 as sha256 from documents where tenant_id = ? and blob_sha256 = any(?::text[])
       union select content_hash from documents where tenant_id = ? and content_hash = any(?::text[])`,
      [tenantId, shas, tenantId, shas],
    );
    const referenced = new Set(rows.map((r) => r.sha256));
    for (const sha256 of candidates) {
      if (!referenced.has(sha256) && (await blobs.removeIfWrittenBefore(tenantId, sha256, cutoff))) deleted++;
    }
    onProgress?.(deleted);
  };
  let candidates: string[] = [];
  for await (const blob of blobs.list(tenantId)) {
    if (blob.writtenAt >= cutoff) continue;
    candidates.push(blob.sha256);
    if (candidates.length >= batchSize) {
      await sweep(candidates);
      candidates = [];
    }
  }
  await sweep(candidates);
  return deleted;
}
