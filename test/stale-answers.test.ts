import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncReport } from '../lib/contracts';
import type { syncSource } from '../workflows/sync-source';
import { setupTestContext, startTestApi, type TestContext } from './harness';

// Stale answers (issue 18 item 3): a sync that changes or removes pages re-checks the answers that cited them
// against the pages' text now. A page whose cited passage changed but still says what the answer says makes the
// answer `stale`; a page that now says otherwise, or is gone, makes it `unsupported_now`; an answer citing only
// unchanged pages is left alone. The collection lists them; the answer shows its verdict.
// RECORD_HISTORY=1 saves the first re-check's history as test/histories/recheck-answers-sync.json (replayed by
// test/replay.test.ts).

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let server: Server;
let base = '';
const pages = new Map<string, string>();

const html = (title: string, ...paragraphs: string[]) =>
  `<html><head><title>${title}</title></head><body><h1>${title}</h1>${paragraphs.map((p) => `<p>${p}</p>`).join('')}</body></html>`;

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = pages.get((req.url ?? '/').split('?')[0]!);
    if (body === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  ctx = await setupTestContext({ FETCH_ALLOW_HOSTS: '127.0.0.1' });
  api = await startTestApi(ctx);
  await ctx.startWorker();
});
afterAll(async () => {
  await ctx?.close();
  await new Promise((r) => server?.close(r));
});

const call = (method: string, path: string, body?: unknown, key = ctx.tenant.key) =>
  api.request(method, path, { key, body }) as Promise<{ status: number; body: Json }>;

let recorded = false;
async function sync(collectionId: string, sourceId: string): Promise<SyncReport> {
  const res = await call('POST', `/v1/collections/${collectionId}/sources/${sourceId}/sync`);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const report = await ctx.client.workflow.getHandle<typeof syncSource>(res.body.workflowId as string).result();
  if (process.env.RECORD_HISTORY && report.answers && !recorded) {
    recorded = true;
    const handle = ctx.client.workflow.getHandle(`${res.body.workflowId as string}/recheck-answers`);
    const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as object;
    const file = fileURLToPath(new URL('./histories/recheck-answers-sync.json', import.meta.url));
    await writeFile(file, JSON.stringify({ workflowId: handle.workflowId, ...history }, null, 2) + '\n');
  }
  return report;
}

async function ask(question: string, collectionId: string): Promise<Json> {
  const res = await call('POST', '/v1/answers?wait=true', { question, collectionIds: [collectionId] });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.status, JSON.stringify(res.body)).toBe('answered');
  return res.body;
}

const citedSources = (a: Json) => new Set((a.result.citations as Json[]).map((c) => c.source as string));

describe('a sync that changes the pages answers cited', () => {
  let collectionId: string;
  let sourceId: string;
  const answers: Record<string, Json> = {};

  it('starts from answers that cite the pages', async () => {
    pages.set(
      '/refunds',
      html(
        'Refunds',
        'Refunds are issued within 14 days of the request. Contact the billing desk by email to start a refund.',
      ),
    );
    pages.set('/shipping', html('Shipping', 'Orders ship within 3 business days from the central warehouse.'));
    pages.set('/warranty', html('Warranty', 'The hardware warranty lasts 2 years from the date of purchase.'));
    pages.set('/returns', html('Returns', 'Returned items must be unused and in their original packaging.'));
    const c = await call('POST', '/v1/collections', { name: 'stale-answers' });
    collectionId = c.body.id;
    const s = await call('POST', `/v1/collections/${collectionId}/sources`, {
      kind: 'urls',
      urls: ['/refunds', '/shipping', '/warranty', '/returns'].map((p) => base + p),
    });
    expect(s.status).toBe(201);
    sourceId = s.body.id;
    expect((await sync(collectionId, sourceId)).added).toBe(4);

    answers.refunds = await ask('How many days until refunds are issued?', collectionId);
    answers.shipping = await ask('How many business days until orders ship?', collectionId);
    answers.warranty = await ask('How many years does the hardware warranty last?', collectionId);
    answers.returns = await ask('What condition must returned items be in?', collectionId);
    for (const [name, a] of Object.entries(answers)) {
      expect([...citedSources(a)], name).toEqual([`${base}/${name}`]);
      expect(a.freshness, name).toBeNull();
    }
    expect((await call('GET', `/v1/collections/${collectionId}/stale-answers`)).body).toEqual({ answers: [] });
  }, 120_000);

  it('marks each answer by what its page says now', async () => {
    // Refunds: the cited paragraph changed, the fact did not. Shipping: the number changed. Warranty: gone.
    pages.set(
      '/refunds',
      html(
        'Refunds',
        'Refunds are issued within 14 days of the request. Open a ticket in the customer portal to start a refund.',
      ),
    );
    pages.set('/shipping', html('Shipping', 'Orders ship within 10 business days from the central warehouse.'));
    pages.delete('/warranty');
    const report = await sync(collectionId, sourceId);
    expect(report).toMatchObject({ added: 0, changed: 2, unchanged: 1, removed: 0, failed: 1 });
    // A page that answers 404 counts as failed and keeps its chunks: it is not "gone" until it leaves the list.
    expect(report.answers).toMatchObject({ checked: 2, current: 0, stale: 1, unsupported_now: 1 });

    const patch = await call('PATCH', `/v1/collections/${collectionId}/sources/${sourceId}`, {
      urls: ['/refunds', '/shipping', '/returns'].map((p) => base + p),
    });
    expect(patch.status).toBe(200);
    const second = await sync(collectionId, sourceId);
    expect(second).toMatchObject({ removed: 1, changed: 0 });
    expect(second.answers).toMatchObject({ checked: 1, unsupported_now: 1 });

    const now = async (name: string) => (await call('GET', `/v1/answers/${answers[name]!.id}`)).body;
    const refunds = await now('refunds');
    expect(refunds.freshness.status).toBe('stale');
    expect(refunds.freshness.detail.changedCitations.length).toBeGreaterThan(0);
    expect(refunds.freshness.detail.score).toBeGreaterThanOrEqual(refunds.freshness.detail.threshold);
    const shipping = await now('shipping');
    expect(shipping.freshness.status).toBe('unsupported_now');
    expect(shipping.freshness.detail.score).toBeLessThan(shipping.freshness.detail.threshold);
    const warranty = await now('warranty');
    expect(warranty.freshness.status).toBe('unsupported_now');
    expect(warranty.freshness.detail.removedDocuments).toHaveLength(1);
    expect(warranty.freshness.detail.causeWorkflowId).toMatch(/^batch:/);
    expect((await now('returns')).freshness).toBeNull();

    const listed = (await call('GET', `/v1/collections/${collectionId}/stale-answers`)).body.answers as Json[];
    expect(Object.fromEntries(listed.map((a) => [a.id, a.freshness]))).toEqual({
      [answers.refunds!.id]: 'stale',
      [answers.shipping!.id]: 'unsupported_now',
      [answers.warranty!.id]: 'unsupported_now',
    });
  }, 180_000);

  it('lists another tenant’s collection as missing', async () => {
    const other = await ctx.addTenant('admin');
    const theirs = await call('GET', `/v1/collections/${collectionId}/stale-answers`, undefined, other.key);
    const missing = await call('GET', `/v1/collections/${crypto.randomUUID()}/stale-answers`, undefined, other.key);
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual(missing.body);
  });
});
