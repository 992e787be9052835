import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setupTestContext, startTestApi, type TestContext } from './harness';

// Schedules (/v1/schedules) are real Temporal Schedules: a schedule every 2 s fires and its runs (kind batch, with
// the ScheduleId search attribute) appear; pause stops it and keeps its note; trigger and backfill start the runs
// they should; overlap `skip` starts no second run while one runs; the CLI sees the same schedule; bad input is a
// 400, another tenant's schedule a 404, a retention job admins' only.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
const keys: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };
let other: { id: string; key: string };
let site: Server;
let siteBase = '';

beforeAll(async () => {
  site = createServer((_req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        '<html><head><title>Handbook</title></head><body><h1>Handbook</h1><p>Scheduled syncs keep the handbook fresh: each run fetches the page again and indexes it when it changed.</p></body></html>',
      );
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteBase = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  ctx = await setupTestContext({ FETCH_ALLOW_HOSTS: '127.0.0.1' });
  api = await startTestApi(ctx);
  for (const role of ['operator', 'viewer'] as const) {
    const created = await api.request('POST', '/v1/keys', { key: ctx.tenant.key, body: { name: role, role } });
    expect(created.status).toBe(201);
    keys[role] = created.body!.key as string;
  }
  other = await ctx.addTenant('admin');
});
afterAll(async () => {
  // Schedules outlive a test file on the shared server: delete this file's.
  for (const key of [ctx?.tenant.key, other?.key]) {
    if (!key) continue;
    const list = await api.request('GET', '/v1/schedules', { key });
    for (const s of (list.body?.schedules ?? []) as Json[])
      await api.request('DELETE', `/v1/schedules/${s.id}`, { key });
  }
  await ctx?.close();
  await new Promise((r) => site?.close(r));
});

const call = (method: string, path: string, body?: unknown, key = ctx.tenant.key) =>
  api.request(method, path, { key, body }) as Promise<{ status: number; body: Json }>;

let n = 0;
const every2s = (more: Json = {}) => ({
  name: `every 2s ${++n}`,
  job: { type: 'retention' },
  spec: { intervals: [{ every: '2s' }] },
  ...more,
});

let lastSeen: unknown;
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  lastSeen = undefined;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen ${JSON.stringify(lastSeen)}`);
    await sleep(250);
  }
}

const runsOf = async (id: string) => (await call('GET', `/v1/schedules/${id}/runs?pageSize=200`)).body.runs as Json[];

describe('overlap', () => {
  // Before any worker polls this file's task queue, a run a schedule starts stays running: the next times overlap it.
  it('skip starts no second run while one is running; allow_all does', async () => {
    const skip = await call('POST', '/v1/schedules', every2s({ policy: { overlap: 'skip' } }));
    expect(skip.status).toBe(201);
    expect(skip.body.policy).toEqual({ overlap: 'skip', catchupWindow: '1m', pauseOnFailure: false });
    const skipped = await until('a skipped action', async () => {
      const s = (await call('GET', `/v1/schedules/${skip.body.id}`)).body;
      return s.counts.skippedOverlap >= 2 && s;
    });
    expect(skipped.counts.taken).toBe(1);
    expect(skipped.running).toHaveLength(1);

    const all = await call('POST', '/v1/schedules', every2s({ policy: { overlap: 'allow_all' } }));
    // Under allow_all Temporal does not watch the runs it starts (`running` stays empty): their status says it.
    const overlapping = await until('two runs at once', async () => {
      const s = (await call('GET', `/v1/schedules/${all.body.id}`)).body;
      lastSeen = s;
      return s.recentRuns.filter((r: Json) => r.status === 'running').length >= 2 && s;
    });
    expect(overlapping.counts.skippedOverlap).toBe(0);

    for (const id of [skip.body.id, all.body.id]) {
      expect((await call('DELETE', `/v1/schedules/${id}`)).status).toBe(204);
      expect((await call('GET', `/v1/schedules/${id}`)).status).toBe(404);
    }
    // The runs a deleted schedule started stay, and finish once a worker polls.
    await ctx.startWorker();
    const started = skipped.running[0] as string;
    await until('the skipped schedule’s run to finish', async () => {
      const run = await call('GET', `/v1/runs/${encodeURIComponent(started)}`);
      return run.body.status === 'completed' && run;
    });
  }, 150_000);
});

describe('a schedule every 2 seconds', () => {
  let id: string;
  let temporalId: string;

  it('fires, and its runs are batch runs carrying its ScheduleId', async () => {
    const created = await call('POST', '/v1/schedules', every2s({ description: 'keeps nothing old' }));
    expect(created.status).toBe(201);
    id = created.body.id;
    temporalId = created.body.temporalScheduleId;
    expect(temporalId).toBe(`schedule:${ctx.tenant.id}:${id}`);
    expect(created.body.preview).toBe('Every 2 seconds');
    expect(created.body.spec).toEqual({ cron: [], intervals: [{ every: '2s' }], timezone: 'UTC' });
    expect(created.body.state).toEqual({ paused: false, note: null });
    expect(created.body.nextRuns.length).toBeGreaterThan(0);

    const runs = await until('two finished runs', async () => {
      const list = await runsOf(id);
      lastSeen = [list, (await call('GET', `/v1/schedules/${id}`)).body];
      return list.filter((r) => r.status === 'completed').length >= 2 && list;
    });
    for (const r of runs) {
      expect(r.kind).toBe('batch');
      expect(r.type).toBe('retention');
      expect(r.workflowId.startsWith(`batch:${ctx.tenant.id}:schedule-${id}-`)).toBe(true);
      expect(r.what).toBe(created.body.name);
    }
    // The runs list of the tenant shows them too, by kind.
    const batch = (await call('GET', '/v1/runs?kind=batch&pageSize=200')).body.runs as Json[];
    expect(batch.map((r) => r.workflowId)).toEqual(expect.arrayContaining(runs.map((r) => r.workflowId)));

    const described = (await call('GET', `/v1/schedules/${id}`)).body;
    expect(described.counts.taken).toBeGreaterThanOrEqual(2);
    expect(described.recentRuns[0].workflowId).toMatch(new RegExp(`^batch:${ctx.tenant.id}:schedule-${id}-`));
  }, 120_000);

  it('is the same schedule in the Temporal CLI', async () => {
    const { stdout } = await promisify(execFile)(inject('temporalCliPath'), [
      'schedule',
      'describe',
      '--address',
      ctx.config.temporal.address!,
      '--namespace',
      ctx.config.temporal.namespace,
      '--schedule-id',
      temporalId,
      '--output',
      'json',
    ]);
    const d = JSON.parse(stdout) as Json;
    expect(JSON.stringify(d)).toContain('"retention"');
    expect(JSON.stringify(d)).toContain(`schedule-${id}`);
  });

  it('pause stops it and keeps the note; trigger still starts one run; unpause resumes', async () => {
    const paused = await call('POST', `/v1/schedules/${id}/pause`, { note: 'maintenance window' });
    expect(paused.status).toBe(200);
    expect(paused.body.state).toEqual({ paused: true, note: 'maintenance window' });
    expect(paused.body.nextRuns).toEqual([]);
    const taken = paused.body.counts.taken as number;
    await sleep(5_000); // two and a half intervals
    const still = (await call('GET', `/v1/schedules/${id}`)).body;
    expect(still.counts.taken).toBe(taken);

    const triggered = await call('POST', `/v1/schedules/${id}/trigger`, {});
    expect(triggered.status).toBe(202);
    await until('the triggered run', async () => {
      const s = (await call('GET', `/v1/schedules/${id}`)).body;
      return s.counts.taken === taken + 1 && s;
    });
    await sleep(3_000);
    expect((await call('GET', `/v1/schedules/${id}`)).body.counts.taken).toBe(taken + 1);

    const resumed = await call('POST', `/v1/schedules/${id}/unpause`, {});
    expect(resumed.body.state.paused).toBe(false);
    expect(resumed.body.state.note).toMatch(/^Unpaused by /);
    await until('a run after unpausing', async () => {
      const s = (await call('GET', `/v1/schedules/${id}`)).body;
      return s.counts.taken > taken + 1 && s;
    });
  }, 120_000);

  it('backfill over a past range starts one run per time in it', async () => {
    await call('POST', `/v1/schedules/${id}/pause`, { note: 'backfill only' });
    const anchor = Math.floor((Date.now() - 3_600_000) / 2_000) * 2_000;
    // Times at anchor+2, +4, +6 and +8 s lie inside (anchor+1 s, anchor+9 s).
    const backfill = await call('POST', `/v1/schedules/${id}/backfill`, {
      start: new Date(anchor + 1_000).toISOString(),
      end: new Date(anchor + 9_000).toISOString(),
      overlap: 'allow_all',
    });
    expect(backfill.status).toBe(202);
    const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const expected = [2, 4, 6, 8].map((s) => `batch:${ctx.tenant.id}:schedule-${id}-${stamp(anchor + s * 1_000)}`);
    const runs = await until('the backfilled runs', async () => {
      const ids = (await runsOf(id)).map((r) => r.workflowId as string);
      return expected.every((e) => ids.includes(e)) && ids;
    });
    expect(runs.filter((w) => w.endsWith(stamp(anchor)) || w.endsWith(stamp(anchor + 10_000)))).toEqual([]);
  }, 120_000);

  it('changes: a cron spec with its time zone, a new name, a policy', async () => {
    const changed = await call('PATCH', `/v1/schedules/${id}`, {
      name: 'nightly retention',
      spec: { cron: ['0 2 * * *'], timezone: 'Europe/Berlin', jitter: '30s' },
      policy: { overlap: 'buffer_one', catchupWindow: '10m' },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.name).toBe('nightly retention');
    expect(changed.body.preview).toBe('At 02:00 (Europe/Berlin), up to 30 seconds later');
    expect(changed.body.policy).toEqual({ overlap: 'buffer_one', catchupWindow: '10m', pauseOnFailure: false });
    expect(changed.body.state.paused).toBe(true); // a change keeps the state
    await call('POST', `/v1/schedules/${id}/unpause`, { note: 'nightly from now on' });
    const next = (await call('GET', `/v1/schedules/${id}`)).body.nextRuns as string[];
    expect(next.length).toBeGreaterThan(0);
    for (const t of next) {
      const berlin = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(new Date(t));
      expect(berlin).toMatch(/^02:0[01]$/); // 02:00 plus up to 30 s of jitter
    }
    const list = (await call('GET', '/v1/schedules')).body.schedules as Json[];
    expect(list.find((s) => s.id === id)?.name).toBe('nightly retention');
  });
});

describe('a source sync schedule', () => {
  it('starts syncSource runs for the collection, as an operator may', async () => {
    const collection = (await call('POST', '/v1/collections', { name: 'scheduled sync' })).body.id as string;
    const source = await call('POST', `/v1/collections/${collection}/sources`, {
      kind: 'urls',
      urls: [`${siteBase}/handbook`],
    });
    expect(source.status).toBe(201);
    const created = await call(
      'POST',
      '/v1/schedules',
      {
        name: 'handbook sync',
        job: { type: 'syncSource', collectionId: collection, sourceId: source.body.id },
        spec: { intervals: [{ every: '2s' }] },
      },
      keys.operator,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const runs = await until('two finished syncs', async () => {
      const list = await runsOf(created.body.id);
      return list.filter((r) => r.status === 'completed').length >= 2 && list;
    });
    expect(runs.every((r) => r.type === 'syncSource' && r.kind === 'batch')).toBe(true);
    const first = runs.filter((r) => r.status === 'completed').at(-1)!;
    const result = (await call('GET', `/v1/runs/${encodeURIComponent(first.workflowId)}`)).body.result as Json;
    expect(result, JSON.stringify(result)).toMatchObject({
      sourceId: source.body.id,
      collectionId: collection,
      failed: 0,
    });
    const synced = (await call('GET', `/v1/collections/${collection}/sources/${source.body.id}`)).body;
    expect(synced.documents).toBe(1);
    expect(synced.lastSync.workflowId).toMatch(new RegExp(`^batch:${ctx.tenant.id}:schedule-${created.body.id}-`));
    // Collection-scoped: the runs carry the collection too.
    const byCollection = (await call('GET', `/v1/runs?kind=batch&pageSize=200`)).body.runs as Json[];
    expect(byCollection.some((r) => r.workflowId === first.workflowId)).toBe(true);
    expect((await call('DELETE', `/v1/schedules/${created.body.id}`, undefined, keys.operator)).status).toBe(204);
  }, 120_000);
});

describe('bad input, roles and tenancy', () => {
  it('answers 400 with the standard error shape for a bad schedule', async () => {
    const bad: Json[] = [
      { name: 'x', job: { type: 'retention' }, spec: {} },
      { name: 'x', job: { type: 'retention' }, spec: { cron: ['61 * * * *'] } },
      { name: 'x', job: { type: 'retention' }, spec: { cron: ['every day'] } },
      { name: 'x', job: { type: 'retention' }, spec: { intervals: [{ every: '0s' }] } },
      { name: 'x', job: { type: 'retention' }, spec: { intervals: [{ every: '2 s' }] } },
      { name: 'x', job: { type: 'retention' }, spec: { intervals: [{ every: '2s' }], timezone: 'Mars/Olympus' } },
      { name: 'x', job: { type: 'retention', ages: { answers: 0 } }, spec: { intervals: [{ every: '2s' }] } },
      { name: 'x', job: { type: 'reindex' }, spec: { intervals: [{ every: '2s' }] } },
      { name: '', job: { type: 'retention' }, spec: { intervals: [{ every: '2s' }] } },
      { name: 'x', job: { type: 'retention' }, spec: { intervals: [{ every: '2s' }] }, extra: 1 },
      {
        name: 'x',
        job: { type: 'retention' },
        spec: { intervals: [{ every: '2s' }] },
        policy: { overlap: 'sometimes' },
      },
    ];
    for (const body of bad) {
      const res = await call('POST', '/v1/schedules', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBeTypeOf('string');
      expect(res.body.error.message).toBeTypeOf('string');
    }
    const sync = await call('POST', '/v1/schedules', {
      name: 'sync of nothing',
      job: { type: 'syncSource', collectionId: crypto.randomUUID(), sourceId: crypto.randomUUID() },
      spec: { intervals: [{ every: '1h' }] },
    });
    expect(sync.status).toBe(400);
    expect((await call('GET', '/v1/schedules')).body.schedules.map((s: Json) => s.name)).not.toContain('x');
  });

  it('refuses a duplicate name with 409, and bad pause, trigger and backfill bodies with 400', async () => {
    const first = await call('POST', '/v1/schedules', every2s({ paused: true, note: 'made paused' }));
    expect(first.body.state).toEqual({ paused: true, note: 'made paused' });
    const dup = await call('POST', '/v1/schedules', { ...every2s(), name: first.body.name });
    expect(dup.status).toBe(409);
    const id = first.body.id as string;
    expect((await call('POST', `/v1/schedules/${id}/pause`, { note: 5 })).status).toBe(400);
    expect((await call('POST', `/v1/schedules/${id}/trigger`, { overlap: 'never' })).status).toBe(400);
    const now = Date.now();
    const backwards = { start: new Date(now).toISOString(), end: new Date(now - 1000).toISOString() };
    expect((await call('POST', `/v1/schedules/${id}/backfill`, backwards)).status).toBe(400);
    expect((await call('POST', `/v1/schedules/${id}/backfill`, { start: 'yesterday', end: 'today' })).status).toBe(400);
    expect((await call('PATCH', `/v1/schedules/${id}`, { spec: { cron: ['* * *'] } })).status).toBe(400);
    await call('DELETE', `/v1/schedules/${id}`);
  });

  it('keeps a retention job to admins; viewers read', async () => {
    const refused = await call('POST', '/v1/schedules', every2s(), keys.operator);
    expect(refused.status).toBe(403);
    const made = await call('POST', '/v1/schedules', every2s({ paused: true }));
    expect((await call('GET', `/v1/schedules/${made.body.id}`, undefined, keys.viewer)).status).toBe(200);
    expect((await call('POST', `/v1/schedules/${made.body.id}/trigger`, {}, keys.operator)).status).toBe(403);
    expect((await call('DELETE', `/v1/schedules/${made.body.id}`, undefined, keys.viewer)).status).toBe(403);
    expect((await call('DELETE', `/v1/schedules/${made.body.id}`, undefined, keys.operator)).status).toBe(403);
    expect((await call('DELETE', `/v1/schedules/${made.body.id}`)).status).toBe(204);
  });

  it('shows another tenant’s schedule exactly as a missing one', async () => {
    const theirs = await call('POST', '/v1/schedules', every2s({ paused: true }), other.key);
    expect(theirs.status).toBe(201);
    const missing = await call('GET', `/v1/schedules/${crypto.randomUUID()}`);
    for (const [method, path] of [
      ['GET', ''],
      ['PATCH', ''],
      ['POST', '/pause'],
      ['POST', '/trigger'],
      ['GET', '/runs'],
      ['DELETE', ''],
    ] as const) {
      const res = await call(method, `/v1/schedules/${theirs.body.id}${path}`, method === 'GET' ? undefined : {});
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toEqual(missing.body);
    }
    expect((await call('GET', '/v1/schedules/not-a-uuid')).body).toEqual(missing.body);
    const mine = (await call('GET', '/v1/schedules')).body.schedules as Json[];
    expect(mine.map((s) => s.id)).not.toContain(theirs.body.id);
    expect((await call('GET', `/v1/schedules/${theirs.body.id}`, undefined, other.key)).status).toBe(200);
  });
});

describe('the CLI', () => {
  const cli = async (...args: string[]) =>
    (
      await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/cli.ts', 'schedules', ...args], {
        env: { ...process.env, BC_API_URL: api.base, BC_API_KEY: ctx.tenant.key },
      })
    ).stdout;

  it('creates, lists, pauses, describes and deletes a schedule', async () => {
    const created = await cli(
      'create',
      'cli nightly',
      '--job',
      'retention',
      '--cron',
      '30 3 * * 1-5',
      '--timezone',
      'America/New_York',
      '--overlap',
      'buffer_one',
      '--keep',
      'spans=7,audit=forever',
    );
    expect(created).toContain('At 03:30, Monday through Friday (America/New_York)');
    expect(created).toContain('overlap buffer_one');
    const made = ((await call('GET', '/v1/schedules')).body.schedules as Json[]).find((s) => s.name === 'cli nightly')!;
    expect(made.job).toEqual({ type: 'retention', ages: { spans: 7, audit: null } });

    expect(await cli()).toMatch(/cli nightly\s+retention\s+At 03:30/);
    expect(await cli('pause', 'cli nightly', '--note', 'holidays')).toContain('paused — holidays');
    expect(await cli('describe', made.id as string)).toContain('paused — holidays');
    expect(await cli('delete', 'cli nightly')).toContain('deleted cli nightly');
    expect((await call('GET', `/v1/schedules/${made.id}`)).status).toBe(404);
    await expect(cli('describe', 'cli nightly')).rejects.toThrow(/No schedule "cli nightly"/);
  }, 60_000);

  it('sets up a nightly sync of a URL list that Temporal lists, and a trigger ingests the changes', async () => {
    const sources = async (...args: string[]) =>
      (
        await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/cli.ts', 'sources', ...args], {
          env: { ...process.env, BC_API_URL: api.base, BC_API_KEY: ctx.tenant.key },
        })
      ).stdout;
    await call('POST', '/v1/collections', { name: 'cli-handbook' });
    const added = await sources('add', '--collection', 'cli-handbook', '--url', `${siteBase}/handbook`, '--name', 'hb');
    const sourceId = /\(([0-9a-f-]{36})\)/.exec(added)![1]!;
    expect(await sources('list', '--collection', 'cli-handbook')).toMatch(/hb\s+urls\s+1 URLs\s+0\s+never/);

    const created = await cli(
      'create',
      'nightly handbook',
      '--job',
      'sync',
      '--collection',
      'cli-handbook',
      '--source',
      sourceId,
      '--cron',
      '0 3 * * *',
    );
    expect(created).toContain('At 03:00 (UTC)');
    const made = ((await call('GET', '/v1/schedules')).body.schedules as Json[]).find(
      (s) => s.name === 'nightly handbook',
    )!;
    const { stdout: listed } = await promisify(execFile)(inject('temporalCliPath'), [
      'schedule',
      'list',
      '--address',
      ctx.config.temporal.address!,
      '--namespace',
      ctx.config.temporal.namespace,
    ]);
    expect(listed).toContain(made.temporalScheduleId as string);

    expect(await cli('trigger', 'nightly handbook')).toContain('triggered nightly handbook');
    const runs = await until('the triggered sync', async () => {
      const list = await runsOf(made.id as string);
      return list.some((r) => r.status === 'completed') && list;
    });
    expect(runs[0]!.type).toBe('syncSource');
    expect(await sources('list', '--collection', 'cli-handbook')).toMatch(
      /hb\s+urls\s+1 URLs\s+1\s+completed: 1 added/,
    );
    expect(await cli('runs', 'nightly handbook')).toContain('completed');
    await cli('delete', 'nightly handbook');
    expect(await sources('delete', sourceId, '--collection', 'cli-handbook')).toContain('deleted source');
  }, 120_000);
});
