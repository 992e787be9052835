import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmCallEntity } from '../lib/db/entities';
import { setupTestContext, startTestApi, type TestContext } from './harness';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
});

const get = (path: string, key = ctx.tenant.key) => api.request('GET', path, { key });
const enc = encodeURIComponent;

/** A model-call row as the gateway writes it, for a run of `tenantId`. */
const call = (tenantId: string, workflowId: string, input: number, output: number, costUsd: string) => ({
  id: randomUUID(),
  tenantId,
  purpose: 'answer',
  provider: 'local',
  model: 'local-extractive',
  inputTokens: input,
  outputTokens: output,
  costUsd,
  latencyMs: 3,
  outcome: 'ok',
  workflowId,
});

async function ingestFinished(workflowId: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await get(`/v1/ingests/${enc(workflowId)}`);
    expect(res.status).toBe(200);
    if (res.body!.status !== 'running') return res.body!;
    if (Date.now() > deadline) throw new Error('ingest did not finish');
    await sleep(200);
  }
}

describe('runs, readable', () => {
  let selfTestId: string;
  let collectionId: string;

  it('lists what each run is, with its tokens and cost from the model-call records of the tenant', async () => {
    const res = await api.request('POST', '/v1/system/self-test?wait=true', {
      key: ctx.tenant.key,
      body: { probes: 1, note: 'readable runs' },
    });
    expect(res.status).toBe(200);
    selfTestId = res.body!.workflowId as string;
    const other = await ctx.addTenant();
    await ctx.orm.em
      .fork()
      .insertMany(LlmCallEntity, [
        call(ctx.tenant.id, selfTestId, 100, 20, '0.00150000'),
        call(ctx.tenant.id, `${selfTestId}/child-doc`, 50, 5, '0.00050000'),
        call(other.id, selfTestId, 999, 999, '9.00000000'),
      ]);

    const listed = await get(`/v1/runs?q=${enc(selfTestId)}`);
    expect(listed.status).toBe(200);
    expect(listed.body!.runs).toEqual([
      expect.objectContaining({
        workflowId: selfTestId,
        kind: 'system',
        what: 'self-test: 1 probe — readable runs',
        parentWorkflowId: null,
        tokens: { input: 150, output: 25 },
        costUsd: 0.002,
      }),
    ]);
    expect(listed.body!.runs[0].durationMs).toBeGreaterThanOrEqual(0);

    const one = await get(`/v1/runs/${enc(selfTestId)}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      what: 'self-test: 1 probe — readable runs',
      tokens: { input: 150, output: 25 },
      costUsd: 0.002,
      parentWorkflowId: null,
      childRuns: 0,
      withChildren: { tokens: { input: 150, output: 25 }, costUsd: 0.002 },
      links: { parentWorkflowId: null },
    });
    const children = await get(`/v1/runs/${enc(selfTestId)}/children`);
    expect(children.body).toEqual({ runs: [], nextPageToken: null });
  });

  it('shows an ingest’s documents as its child runs, with names, statuses and chunk counts', async () => {
    const created = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'readable handbook', chunkSize: 120, chunkOverlap: 20 },
    });
    expect(created.status).toBe(201);
    collectionId = created.body!.id as string;
    const form = new FormData();
    form.append(
      'file',
      new Blob([Buffer.from('# Refunds\n\nRefunds are paid within 14 days of a request.')]),
      'refunds.md',
    );
    form.append('file', new Blob([Buffer.from('# Shipping\n\nParcels ship on weekdays from Lyon.')]), 'shipping.md');
    const uploaded = await fetch(`${api.base}/v1/collections/${collectionId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.tenant.key}` },
      body: form,
    });
    expect(uploaded.status).toBe(202);
    const workflowId = ((await uploaded.json()) as { workflowId: string }).workflowId;
    await ingestFinished(workflowId);

    const listed = await get(`/v1/runs?kind=ingest&q=${enc(workflowId)}`);
    expect(listed.body!.runs).toEqual([
      expect.objectContaining({ workflowId, what: '2 documents → readable handbook', status: 'completed' }),
    ]);

    const children = await get(`/v1/runs/${enc(workflowId)}/children`);
    expect(children.status).toBe(200);
    const runs = children.body!.runs as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    // Both documents in one batch: one child run, naming its documents in order.
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      type: 'ingestBatch',
      status: 'completed',
      parentWorkflowId: workflowId,
      what: '2 documents',
    });
    const documents = runs[0]!.documents as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(documents.map((d) => d.name)).toEqual(['refunds.md', 'shipping.md']);
    for (const d of documents) {
      expect(d).toMatchObject({ collectionId, status: 'ready' });
      expect(d.chunkCount).toBeGreaterThan(0);
    }

    const one = await get(`/v1/runs/${enc(workflowId)}`);
    expect(one.body).toMatchObject({ childRuns: 0, links: { collectionId } });
    expect(one.body!.links.documentIds).toHaveLength(2);

    // A batch child has no search attributes of its own: it is its parent's tenant's, and readable as such.
    const child = await get(`/v1/runs/${enc(runs[0]!.workflowId)}`);
    expect(child.status).toBe(200);
    expect(child.body).toMatchObject({
      parentWorkflowId: workflowId,
      what: '2 documents',
      links: { parentWorkflowId: workflowId, collectionId, documentIds: documents.map((d) => d.id) },
    });

    // Another tenant sees none of it, exactly as if it did not exist.
    const other = await ctx.addTenant();
    for (const path of [
      `/v1/runs/${enc(workflowId)}/children`,
      `/v1/runs/${enc(runs[0]!.workflowId)}`,
      `/v1/runs/${enc(runs[0]!.workflowId)}/children`,
      `/v1/runs/${enc(selfTestId)}/children`,
    ]) {
      const res = await get(path, other.key);
      expect(res.status, path).toBe(404);
    }
    expect((await get(`/v1/runs/nope-${randomUUID()}/children`)).status).toBe(404);
    expect((await get(`/v1/runs/${enc(workflowId)}/children?pageToken=garbage`)).status).toBe(400);
  });

  it('links an answer run to its answer and says its question', async () => {
    const res = await api.request('POST', '/v1/answers?wait=true', {
      key: ctx.tenant.key,
      body: { question: 'When are refunds paid?', collectionIds: [collectionId] },
    });
    expect(res.status).toBe(200);
    const workflowId = (res.body!.workflowId as string | undefined) ?? `answer:${ctx.tenant.id}:${res.body!.id}`;
    const run = await get(`/v1/runs/${enc(workflowId)}`);
    expect(run.body).toMatchObject({
      kind: 'answer',
      what: 'When are refunds paid?',
      links: { answerId: res.body!.id, collectionIds: [collectionId] },
    });
  });
});
