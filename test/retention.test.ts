import { randomUUID } from 'node:crypto';
import { utimes, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RETENTION_KINDS,
  runSearchAttributes,
  taskQueues,
  workflowIds,
  type RetentionInput,
  type RetentionKind,
  type RetentionReport,
} from '../lib/contracts';
import { BlobStore } from '../lib/storage/blobs';
import { retention } from '../workflows/retention';
import { setupTestContext, startTestApi, type TestContext } from './harness';

// The `retention` batch job on the real stack: a worker on this file's queue, the shared database, the blob store.
// Two tenants hold old and new rows of every kind; old rows are 20 days old and the ages 10 days (the audit log's
// platform-wide pruner in test/audit.test.ts deletes entries past 30 days of every tenant, so these stay clear of it).
// RECORD_HISTORY=1 saves the first run's history as test/histories/retention-basic.json (replayed by test/replay.test.ts).

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let blobs: BlobStore;
let other: { id: string; key: string };

const DAY_MS = 86_400_000;
const OLD = () => new Date(Date.now() - 20 * DAY_MS);
/** Old run events of the tenant under test: more than one batch (5,000 rows) of them. */
const MANY_OLD_RUN_EVENTS = 11_000;

interface Seeded {
  /** Old rows of each kind the job should delete when that kind has an age. */
  old: Record<RetentionKind, number>;
  blob: { oldUnreferenced: string; oldReferenced: string; newUnreferenced: string };
  answers: {
    oldInConversation: string;
    oldWithNewer: string;
    newer: string;
    oldRunning: string;
    conversation: string;
    emptied: string;
  };
}

beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  blobs = new BlobStore(ctx.config.ingest.blobDir);
  other = await ctx.addTenant();
  await ctx.startWorker();
});
afterAll(() => ctx?.close());

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  ctx.orm.em.getConnection().execute<T[]>(query, params);

/** Old and new rows of every kind for a tenant; old ones written with explicit timestamps. */
async function seed(tenantId: string, oldRunEvents: number): Promise<Seeded> {
  const old = OLD();
  // Answers: a conversation whose only answer is old (it goes, and the conversation with it), one with an old and a
  // new answer (the old turn goes, the conversation stays), an old answer outside any conversation, an old running
  // one (kept: it may still finish) and a new one.
  const emptied = randomUUID();
  const conversation = randomUUID();
  for (const id of [emptied, conversation]) {
    await sql(
      `insert into conversations (id, tenant_id, collection_ids, created_at, updated_at) values (?, ?, '{}', ?, ?)`,
      [id, tenantId, old, id === emptied ? old : new Date()],
    );
  }
  const answer = async (conversationId: string | null, status: string, createdAt: Date) => {
    const id = randomUUID();
    await sql(
      `insert into answers (id, tenant_id, workflow_id, conversation_id, question, status, created_at) values (?, ?, ?, ?, 'q', ?, ?)`,
      [id, tenantId, `answer:${tenantId}:${id}`, conversationId, status, createdAt],
    );
    if (conversationId) {
      for (const role of ['user', 'assistant']) {
        await sql(
          `insert into messages (id, tenant_id, conversation_id, role, content, answer_id, created_at) values (?, ?, ?, ?, 'm', ?, ?)`,
          [randomUUID(), tenantId, conversationId, role, id, createdAt],
        );
      }
    }
    return id;
  };
  const answers = {
    oldInConversation: await answer(emptied, 'answered', old),
    oldWithNewer: await answer(conversation, 'abstained', old),
    newer: await answer(conversation, 'answered', new Date()),
    oldRunning: await answer(null, 'running', old),
    conversation,
    emptied,
  };
  await answer(null, 'failed', old);

  await sql(
    `insert into run_events (tenant_id, workflow_id, type, data, created_at)
     select ?, 'retention-test', 'token', '{}', ? from generate_series(1, ?)`,
    [tenantId, old, oldRunEvents],
  );
  await sql(`insert into run_events (tenant_id, workflow_id, type, data) values (?, 'retention-test', 'token', '{}')`, [
    tenantId,
  ]);

  for (const start of [old, old, new Date()]) {
    await sql(
      `insert into spans (trace_id, span_id, tenant_id, name, kind, service, start_time, end_time, duration_ms, status_code)
       values (?, ?, ?, 'retention-test', 1, 'test', ?, ?, 1, 0)`,
      [randomUUID().replace(/-/g, ''), randomUUID().slice(0, 16), tenantId, start, start],
    );
  }
  for (const at of [old, old, new Date()]) {
    await sql(
      `insert into llm_calls (id, tenant_id, purpose, provider, model, latency_ms, outcome, created_at)
       values (?, ?, 'answer', 'local', 'local-extractive', 1, 'ok', ?)`,
      [randomUUID(), tenantId, at],
    );
    await sql(
      `insert into audit_log (tenant_id, at, actor_type, via, action, method, status, outcome)
       values (?, ?, 'key', 'key', 'retention.test', 'POST', 200, 'success')`,
      [tenantId, at],
    );
  }

  // Blobs: an old one no document references (deleted), an old one a document references and a new unreferenced
  // one (the grace period of an upload whose document is not written yet).
  const put = async (label: string, writtenAt?: Date) => {
    const { sha256 } = await blobs.putBuffer(tenantId, Buffer.from(`${tenantId} ${label} ${randomUUID()}`));
    if (writtenAt) await utimes(blobs.path(tenantId, sha256), writtenAt, writtenAt);
    return sha256;
  };
  const blob = {
    oldUnreferenced: await put('old unreferenced', old),
    oldReferenced: await put('old referenced', old),
    newUnreferenced: await put('new unreferenced'),
  };
  const collectionId = randomUUID();
  await sql(
    `insert into collections (id, tenant_id, name, embedding_model, embedding_dim) values (?, ?, ?, 'local-384', 384)`,
    [collectionId, tenantId, `retention-${collectionId}`],
  );
  await sql(
    `insert into documents (id, tenant_id, collection_id, source_kind, source, blob_sha256, created_at, updated_at)
     values (?, ?, ?, 'upload', 'kept.md', ?, ?, ?)`,
    [randomUUID(), tenantId, collectionId, blob.oldReferenced, old, old],
  );

  return {
    old: { answers: 3, runEvents: oldRunEvents, spans: 2, modelCalls: 2, audit: 2, blobs: 1 },
    blob,
    answers,
  };
}

/** What a tenant holds of each kind (the seeded rows, by marker), old and new. */
async function holdings(tenantId: string, seeded: Seeded) {
  const before = new Date(Date.now() - 15 * DAY_MS);
  const count = async (query: string) => Number((await sql<{ n: string }>(query, [tenantId, before]))[0]!.n);
  const split = async (table: string, at: string, extra = '') => ({
    old: await count(`select count(*) as n from ${table} where tenant_id = ? and ${at} < ? ${extra}`),
    total: Number(
      (await sql<{ n: string }>(`select count(*) as n from ${table} where tenant_id = ? ${extra}`, [tenantId]))[0]!.n,
    ),
  });
  const blobFiles = Object.fromEntries(
    await Promise.all(
      Object.entries(seeded.blob).map(async ([k, sha]) => [k, await blobs.exists(tenantId, sha)] as const),
    ),
  );
  return {
    answers: await split('answers', 'created_at'),
    messages: await split('messages', 'created_at'),
    conversations: (await sql<{ id: string }>(`select id from conversations where tenant_id = ?`, [tenantId]))
      .map((r) => r.id)
      .filter((id) => id === seeded.answers.conversation || id === seeded.answers.emptied),
    runEvents: await split('run_events', 'created_at', `and workflow_id = 'retention-test'`),
    spans: await split('spans', 'start_time', `and name = 'retention-test'`),
    modelCalls: await split('llm_calls', 'created_at', `and model = 'local-extractive' and latency_ms = 1`),
    audit: await split('audit_log', 'at', `and action = 'retention.test'`),
    blobFiles,
  };
}

async function runRetention(input: RetentionInput) {
  const workflowId = workflowIds.batch(input.tenantId, randomUUID());
  const handle = await ctx.client.workflow.start(retention, {
    workflowId,
    taskQueue: taskQueues(ctx.config.temporal.taskQueue).main,
    args: [input],
    typedSearchAttributes: runSearchAttributes({ tenantId: input.tenantId, kind: 'batch' }),
  });
  return { handle, report: (await handle.result()) as RetentionReport };
}

const setRetention = async (key: string, retentionAges: Record<string, number | null>) => {
  const res = await api.request('PUT', '/v1/settings', { key, body: { retention: retentionAges } });
  expect(res.status).toBe(200);
  return res.body!;
};

describe('retention job', () => {
  let mine: Seeded;
  let theirs: Seeded;
  let theirsBefore: Awaited<ReturnType<typeof holdings>>;

  beforeAll(async () => {
    mine = await seed(ctx.tenant.id, MANY_OLD_RUN_EVENTS);
    theirs = await seed(other.id, 3);
    // The other tenant would lose its old rows to a job that ignored the tenant: it has the same ages.
    const ages = Object.fromEntries(RETENTION_KINDS.map((k) => [k, 10]));
    await setRetention(other.key, ages);
    await setRetention(ctx.tenant.key, { ...ages, spans: null });
    theirsBefore = await holdings(other.id, theirs);
  });

  it('deletes only the tenant’s rows past their ages, and keeps a kind whose age is null', async () => {
    const started = Date.now();
    const { handle, report } = await runRetention({ tenantId: ctx.tenant.id, actor: 'test', name: 'nightly' });
    if (process.env.RECORD_HISTORY) {
      const file = fileURLToPath(new URL('./histories/retention-basic.json', import.meta.url));
      const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as object;
      await writeFile(file, JSON.stringify({ workflowId: handle.workflowId, ...history }, null, 2) + '\n');
    }

    expect(report.deleted).toEqual({ ...mine.old, spans: 0 });
    expect(report.cutoffs.spans).toBeNull();
    for (const kind of RETENTION_KINDS.filter((k) => k !== 'spans')) {
      const cutoff = Date.parse(report.cutoffs[kind]!);
      expect(cutoff).toBeGreaterThanOrEqual(started - 10 * DAY_MS - 60_000);
      expect(cutoff).toBeLessThanOrEqual(Date.now() - 10 * DAY_MS);
    }

    const now = await holdings(ctx.tenant.id, mine);
    // The old running answer stays; the new one with its two turns too.
    expect(now.answers).toEqual({ old: 1, total: 2 });
    expect(
      (await sql<{ id: string }>(`select id from answers where tenant_id = ? order by id`, [ctx.tenant.id]))
        .map((r) => r.id)
        .sort(),
    ).toEqual([mine.answers.newer, mine.answers.oldRunning].sort());
    expect(now.messages).toEqual({ old: 0, total: 2 });
    expect(now.conversations).toEqual([mine.answers.conversation]);
    expect(now.runEvents).toEqual({ old: 0, total: 1 });
    expect(now.spans).toEqual({ old: 2, total: 3 });
    expect(now.modelCalls).toEqual({ old: 0, total: 1 });
    expect(now.audit).toEqual({ old: 0, total: 1 });
    expect(now.blobFiles).toEqual({ oldUnreferenced: false, oldReferenced: true, newUnreferenced: true });

    expect(await holdings(other.id, theirs)).toEqual(theirsBefore);
    expect(theirsBefore.runEvents.old).toBe(3);
    expect(theirsBefore.blobFiles.oldUnreferenced).toBe(true);
  });

  it('deletes nothing more when run again', async () => {
    const before = await holdings(ctx.tenant.id, mine);
    const { report } = await runRetention({ tenantId: ctx.tenant.id, actor: 'test' });
    expect(report.deleted).toEqual(Object.fromEntries(RETENTION_KINDS.map((k) => [k, 0])));
    expect(await holdings(ctx.tenant.id, mine)).toEqual(before);
  });

  it('applies the ages of the job’s input over the tenant’s settings', async () => {
    const { report } = await runRetention({
      tenantId: ctx.tenant.id,
      actor: 'test',
      ages: { spans: 10, audit: null },
    });
    expect(report.cutoffs.audit).toBeNull();
    expect(report.deleted).toEqual({ ...Object.fromEntries(RETENTION_KINDS.map((k) => [k, 0])), spans: 2 });
    expect((await holdings(ctx.tenant.id, mine)).spans).toEqual({ old: 0, total: 1 });
    expect(await holdings(other.id, theirs)).toEqual(theirsBefore);
  });

  it('refuses ages that are not a number of days', async () => {
    const failed = runRetention({ tenantId: ctx.tenant.id, actor: 'test', ages: { answers: 0 } });
    await expect(failed).rejects.toMatchObject({ cause: { type: 'bad_input' } });
  });

  it('keeps every kind of a tenant that set no ages', async () => {
    const fresh = await ctx.addTenant();
    const seeded = await seed(fresh.id, 2);
    const before = await holdings(fresh.id, seeded);
    const { report } = await runRetention({ tenantId: fresh.id, actor: 'test' });
    expect(report.cutoffs).toEqual(Object.fromEntries(RETENTION_KINDS.map((k) => [k, null])));
    expect(report.deleted).toEqual(Object.fromEntries(RETENTION_KINDS.map((k) => [k, 0])));
    expect(await holdings(fresh.id, seeded)).toEqual(before);
  });
});
