import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Layer, Router } from '@koa/router';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { createApiKey } from '../api/auth/api-keys';
import { PERMISSIONS, routeKey } from '../api/permissions';
import { McpServerEntity, McpToolEntity, type Role } from '../lib/db/entities';
import { createLogger } from '../lib/log';
import { setupTestContext, testAppDeps, type TestContext } from './harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest } from './openai-server';
import { ingestCorpus, CORPUS } from './rag-fixtures';
import { passageWith, scriptModel } from './scripted-model';

// Authentication, roles and ids across tenants, checked on every route the app has: the routes are read from the
// routers' own stacks, so a route added later is covered without touching this file.

const PROTOCOL = 'default pickle protocol';
const truthful = (r: RecordedRequest) =>
  `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, PROTOCOL)}].`;
const fabricated = (r: RecordedRequest) =>
  `The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, PROTOCOL)}].`;

interface Route {
  method: string;
  path: string;
  layer: Layer;
}

let server: OpenAiTestServer;
let ctx: TestContext;
let base: string;
let routes: Route[];
/** Requests that got as far as a route's handler (a spy sits just before each one). */
const reached: string[] = [];

type Key = { key: string; keyId: string; keyName: string };
let viewer: Key;
let operator: Key;
let admin: Key;
let tenantB: { id: string; admin: Key };
let collectionId: string;
let collectionB: string;

async function request(method: string, path: string, opts: { key?: string; body?: unknown } = {}) {
  // JSON, not HTML: the console would otherwise answer unknown GETs with its index page.
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: Record<string, any> | null = null; // eslint-disable-line @typescript-eslint/no-explicit-any -- fields are asserted one by one
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

const keyFor = async (tenantId: string, role: Role): Promise<Key> => {
  const keyName = `${role}-${randomUUID().slice(0, 6)}`;
  const k = await createApiKey(ctx.orm, { tenantId, keyName, role });
  return { key: k.key, keyId: k.keyId, keyName };
};

afterAll(async () => {
  await ctx?.close();
  await server?.close();
});
beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  ctx = await setupTestContext({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_EMBEDDING_DIMENSIONS: '8',
  });
  const app = createApp(
    testAppDeps({
      config: ctx.config,
      orm: ctx.orm,
      temporal: ctx.client,
      log: createLogger('silent', 'security-auth'),
    }),
  );
  routes = [];
  for (const mw of app.middleware as Array<Middleware & { router?: Router }>) {
    for (const layer of mw.router?.stack ?? []) {
      if (!layer.methods.length) continue;
      const spy: Middleware = (c, next) => {
        reached.push(`${c.method} ${c.path}`);
        return next();
      };
      layer.stack.splice(layer.stack.length - 1, 0, spy as never);
      // (HEAD and OPTIONS follow GET and the allowed-methods answer; `all` routes are tried with the usual verbs.)
      for (const method of layer.methods.filter((m) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(m)))
        routes.push({ method, path: String(layer.path), layer });
    }
  }
  const http: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  ctx.onClose(() => new Promise<void>((r) => http.close(() => r())));
  await ctx.startWorker();

  admin = { key: ctx.tenant.key, keyId: '', keyName: 'test' };
  viewer = await keyFor(ctx.tenant.id, 'viewer');
  operator = await keyFor(ctx.tenant.id, 'operator');
  const b = await ctx.addTenant('admin');
  tenantB = { id: b.id, admin: { key: b.key, keyId: '', keyName: 'test' } };
  const corpus = { 'pickle.md': CORPUS['pickle.md']! };
  const api = { base, request } as unknown as Parameters<typeof ingestCorpus>[1];
  collectionId = await ingestCorpus(ctx, api, { corpus });
  collectionB = await ingestCorpus(ctx, api, { key: tenantB.admin.key, corpus });
});

/** A concrete path for a route pattern: every `:param` filled. */
const fill = (path: string, value: (param: string) => string) =>
  path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(value(p)));
/** The route's entry in the permission table (api/permissions.ts; test/permissions.test.ts keeps it whole). */
const ruleOf = (r: Route) => PERMISSIONS[routeKey(r.layer)]!;
const authenticated = (r: Route) => !ruleOf(r).public && (r.path.startsWith('/v1/') || r.path === '/mcp');
const mutating = (r: Route) =>
  !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.path.startsWith('/v1/') && !ruleOf(r).public;
/** Roles the table refuses on a route (checked before anything else is). */
const refuses = (r: Route, role: Role) => !ruleOf(r).roles.includes(role);

/** The same path in other letter cases (and one with an escaped letter), each different from the original. */
function spellings(path: string): string[] {
  const alternating = [...path].map((ch, i) => (i % 2 ? ch.toUpperCase() : ch.toLowerCase())).join('');
  const out = [
    path.toUpperCase(),
    path.replace(/^\/v1\//, '/V1/'),
    path.replace(/\/([a-z])/g, (_, c: string) => `/${c.toUpperCase()}`),
    alternating,
    path.replace(/^\/([a-z])/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`),
  ];
  return [...new Set(out)].filter((p) => p !== path);
}

describe('routing and authentication agree in every letter case', () => {
  it('finds the routes of every router', () => {
    const paths = routes.map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'GET /v1/system/me',
        'POST /v1/answers',
        'POST /v1/mcp/servers',
        'GET /healthz',
        'POST /mcp',
      ]),
    );
    expect(routes.length).toBeGreaterThan(40);
  });

  it('answers GET /V1/system/me without a key with 401, not the handler', async () => {
    reached.length = 0;
    const res = await request('GET', '/V1/system/me');
    expect(res.status).toBe(401);
    expect(res.body?.error.code).toBe('unauthorized');
    expect(reached).toEqual([]);
  });

  it('never lets an unkeyed request reach a handler, and never routes another spelling of a path', async () => {
    reached.length = 0;
    const failures: string[] = [];
    for (const r of routes) {
      const path = fill(r.path, () => randomUUID());
      for (const spelled of [...(authenticated(r) ? [path] : []), ...spellings(path)]) {
        const anon = await request(r.method, spelled);
        // Without a key: 401 anywhere under /v1 (any case), 404 where nothing routes; never a success or a crash.
        if (anon.status >= 200 && anon.status < 300)
          failures.push(`${r.method} ${spelled} without a key: ${anon.status}`);
        if (anon.status >= 500) failures.push(`${r.method} ${spelled} without a key: ${anon.status}`);
        if (/^\/v1\//i.test(spelled) && anon.status !== 401)
          failures.push(`${r.method} ${spelled} without a key: ${anon.status}, not 401`);
        if (spelled !== path) {
          const keyed = await request(r.method, spelled, { key: admin.key });
          if (keyed.status !== 404 || keyed.body?.error.code !== 'route_not_found')
            failures.push(`${r.method} ${spelled} with a key: ${keyed.status} ${JSON.stringify(keyed.body)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(reached).toEqual([]);
  });
});

/**
 * Every row of the tenant in every table that has a tenant (bar keys and spans, which requests themselves touch, and
 * the audit log, which records every refusal).
 */
async function tenantRows(tenantId: string): Promise<Record<string, string>> {
  const conn = ctx.orm.em.getConnection();
  const tables = (await conn.execute(
    `select table_name as t from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id' and table_name not in ('api_keys', 'spans', 'audit_log') order by 1`,
  )) as Array<{ t: string }>;
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [row] = (await conn.execute(
      `select count(*)::int as n, coalesce(md5(string_agg(x::text, '|' order by x::text)), '') as h from "${t}" x where tenant_id = ?`,
      [tenantId],
    )) as Array<{ n: number; h: string }>;
    out[t] = `${row!.n}:${row!.h}`;
  }
  return out;
}

const runsOf = (tenantId: string) => ctx.client.workflow.count(`TenantId = '${tenantId}'`).then((c) => c.count);

/** An answer of tenant A held for review (the scripted model makes a claim its passages do not support). */
async function heldForReview(key: string) {
  scriptModel(server, { generate: [fabricated] });
  const res = await request('POST', '/v1/answers?wait=true', {
    key,
    body: {
      question: 'What is the default pickle protocol?',
      collectionIds: [collectionId],
      groundingMethod: 'deterministic',
      policy: 'review',
      reviewTimeout: '1 hour',
    },
  });
  expect(res.body?.status).toBe('pending_review');
  return res.body!.id as string;
}

describe('roles', () => {
  let pendingAnswerId: string;
  let documentId: string;
  let conversationId: string;
  let serverId: string;
  let runningId: string;
  const toolName = 'lookup';

  beforeAll(async () => {
    pendingAnswerId = await heldForReview(operator.key);
    documentId = (await request('GET', `/v1/collections/${collectionId}/documents`, { key: viewer.key })).body!
      .documents[0].id;
    conversationId = (
      await request('POST', '/v1/conversations', { key: operator.key, body: { collectionIds: [collectionId] } })
    ).body!.id;
    const em = ctx.orm.em.fork();
    const mcp = em.create(McpServerEntity, {
      tenantId: ctx.tenant.id,
      name: 'docs',
      transport: 'http',
      url: 'https://mcp.example.com/mcp',
    });
    await em.flush();
    serverId = mcp.id;
    em.create(McpToolEntity, {
      tenantId: ctx.tenant.id,
      serverId,
      name: toolName,
      definition: { name: toolName, inputSchema: { type: 'object' } },
      definitionHash: 'a'.repeat(64),
    });
    await em.flush();
    // A run that holds (after writing its one probe row) for the cancel route to aim at.
    runningId = (
      await request('POST', '/v1/system/self-test', { key: operator.key, body: { probes: 1, holdMs: 60_000 } })
    ).body!.workflowId;
    for (const until = Date.now() + 20_000; Date.now() < until; await sleep(100)) {
      const [row] = (await ctx.orm.em
        .getConnection()
        .execute('select count(*)::int as n from system_probes where workflow_id = ?', [runningId])) as Array<{
        n: number;
      }>;
      if (row!.n > 0) break;
    }
    ctx.onClose(() => ctx.client.workflow.getHandle(runningId).terminate());
  });

  const paramOf = (path: string, param: string): string => {
    if (path.startsWith('/v1/collections/')) return collectionId;
    if (path.startsWith('/v1/documents/')) return documentId;
    if (path.startsWith('/v1/answers/')) return pendingAnswerId;
    if (path.startsWith('/v1/conversations/')) return conversationId;
    if (path.startsWith('/v1/runs/')) return runningId;
    if (path.startsWith('/v1/agents/runs/')) return `agent:${ctx.tenant.id}:${randomUUID()}`;
    if (path.startsWith('/v1/mcp/servers/')) return param === 'name' ? toolName : serverId;
    if (path.startsWith('/v1/secrets/')) return 'viewer-made';
    return randomUUID();
  };
  /** A body each route would accept from a key allowed to use it (so only the role stands in the way). */
  const bodyOf = (r: Route): unknown =>
    (
      ({
        'POST /v1/system/self-test': { probes: 1 },
        'POST /v1/llm/completions': { messages: [{ role: 'user', content: 'hi' }] },
        'POST /v1/collections': { name: 'viewer-made' },
        'POST /v1/collections/:id/urls': { urls: ['https://example.com/page.html'] },
        'POST /v1/collections/:id/folder': { path: '/tmp' },
        'POST /v1/answers': { question: 'What is the default pickle protocol?', collectionIds: [collectionId] },
        'POST /v1/answers/:id/review': { decision: 'approve' },
        'POST /v1/grounding': {
          answer: 'Protocol 5 is the default.',
          contexts: ['The default pickle protocol is protocol 5.'],
        },
        'POST /v1/search': { query: 'pickle protocol', collectionIds: [collectionId] },
        'POST /v1/conversations': { collectionIds: [collectionId] },
        'POST /v1/conversations/:id/messages': { content: 'What is the default pickle protocol?' },
        'POST /v1/mcp/servers': {
          transport: 'http',
          name: 'viewer-made',
          url: 'https://mcp.example.com/other',
          discover: false,
        },
        'PATCH /v1/mcp/servers/:id': { enabled: false },
        'POST /v1/mcp/servers/:id/tools/:name/approve': { definitionHash: 'a'.repeat(64) },
        'POST /v1/agents/runs': { goal: 'Say hello.' },
        'POST /v1/agents/runs/:id/approvals': { callId: 'c1', approve: true },
        'PUT /v1/secrets/:name': { value: 'hunter2' },
      }) as Record<string, unknown>
    )[`${r.method} ${r.path}`] ?? {};

  // Each route's roles against its guard, and every role on every route: test/permissions.test.ts.
  it('refuses a viewer on every mutating route with 403 forbidden, starting, writing and deciding nothing', async () => {
    const rowsBefore = await tenantRows(ctx.tenant.id);
    const runsBefore = await runsOf(ctx.tenant.id);
    reached.length = 0;
    const answered: string[] = [];
    for (const r of routes.filter((r) => mutating(r) && refuses(r, 'viewer'))) {
      const res = await request(
        r.method,
        fill(r.path, (p) => paramOf(r.path, p)),
        { key: viewer.key, body: bodyOf(r) },
      );
      if (res.status !== 403 || res.body?.error.code !== 'forbidden')
        answered.push(`${r.method} ${r.path}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(answered).toEqual([]);
    expect(reached).toEqual([]);
    await sleep(1500); // visibility is eventually consistent: a start would show by now
    expect(await runsOf(ctx.tenant.id)).toBe(runsBefore);
    expect(await tenantRows(ctx.tenant.id)).toEqual(rowsBefore);
    expect((await ctx.client.workflow.getHandle(runningId).describe()).status.name).toBe('RUNNING');
    expect((await request('GET', `/v1/answers/${pendingAnswerId}`, { key: viewer.key })).body).toMatchObject({
      status: 'pending_review',
    });
  });

  it('lets a viewer read everything of its tenant', async () => {
    for (const path of [
      '/v1/system/me',
      '/v1/runs',
      `/v1/runs/${encodeURIComponent(runningId)}`,
      '/v1/answers',
      `/v1/answers/${pendingAnswerId}`,
      '/v1/collections',
      `/v1/collections/${collectionId}/documents`,
      '/v1/conversations',
      `/v1/conversations/${conversationId}`,
      '/v1/mcp/servers',
      `/v1/mcp/servers/${serverId}/tools`,
    ]) {
      const res = await request('GET', path, { key: viewer.key });
      expect(res.status, path).toBe(200);
    }
  });

  it('refuses an operator the configuration routes, and lets it run and write content', async () => {
    reached.length = 0;
    for (const r of routes.filter((r) => mutating(r) && refuses(r, 'operator'))) {
      const res = await request(
        r.method,
        fill(r.path, (p) => paramOf(r.path, p)),
        { key: operator.key, body: bodyOf(r) },
      );
      expect(res.status, `${r.method} ${r.path}`).toBe(403);
      expect(res.body?.error.code).toBe('forbidden');
    }
    expect(reached).toEqual([]);
    expect((await ctx.orm.em.fork().findOneOrFail(McpToolEntity, { serverId, name: toolName })).status).toBe('pending');

    const search = await request('POST', '/v1/search', {
      key: operator.key,
      body: { query: 'pickle protocol', collectionIds: [collectionId] },
    });
    expect(search.status).toBe(200);
    expect(search.body!.results.length).toBeGreaterThan(0);
  });

  it('records the deciding key as the reviewer, and refuses a reviewer named in the body', async () => {
    const named = await request('POST', `/v1/answers/${pendingAnswerId}/review`, {
      key: operator.key,
      body: { decision: 'approve', reviewer: 'the CEO' },
    });
    expect(named.status).toBe(400);
    expect(named.body?.error.code).toBe('validation_failed');
    expect((await request('GET', `/v1/answers/${pendingAnswerId}`, { key: viewer.key })).body).toMatchObject({
      status: 'pending_review',
    });

    const decided = await request('POST', `/v1/answers/${pendingAnswerId}/review`, {
      key: operator.key,
      body: { decision: 'approve', note: 'checked' },
    });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({
      status: 'answered',
      result: {
        review: {
          decision: 'approve',
          note: 'checked',
          reviewer: `${operator.keyName} (${operator.key.slice(0, 10)}…)`,
          reviewerKeyId: operator.keyId,
        },
      },
    });
  });
});

/** A response with what differs between any two starts (ids, times, the run's own numbers) left out. */
function comparable(res: { status: number; body: Record<string, unknown> | null }) {
  const body = { ...res.body };
  for (const k of ['id', 'workflowId', 'runId', 'conversationId', 'createdAt', 'completedAt', 'result', 'live'])
    if (k in body) body[k] = typeof body[k];
  return { status: res.status, body };
}

describe('client-chosen ids are per tenant: another tenant’s id reads as unused', () => {
  it('answers: tenant B reusing tenant A’s id gets what a fresh id gets, and A’s answer is untouched', async () => {
    scriptModel(server, { generate: [truthful] });
    const id = randomUUID();
    const ask = (key: string, collection: string, answerId: string) =>
      request('POST', '/v1/answers?wait=true', {
        key,
        body: {
          id: answerId,
          question: 'What is the default pickle protocol?',
          collectionIds: [collection],
          groundingMethod: 'deterministic',
        },
      });
    const mine = await ask(admin.key, collectionId, id);
    expect(mine.status).toBe(200);
    const aBefore = (await request('GET', `/v1/answers/${id}`, { key: admin.key })).body;

    const foreign = await ask(tenantB.admin.key, collectionB, id);
    const fresh = await ask(tenantB.admin.key, collectionB, randomUUID());
    expect(comparable(foreign)).toEqual(comparable(fresh));
    expect(foreign.body).toMatchObject({ id, status: 'answered', workflowId: `answer:${tenantB.id}:${id}` });
    // The same id again is the same answer, for each tenant.
    expect((await ask(tenantB.admin.key, collectionB, id)).body).toMatchObject({
      id,
      workflowId: foreign.body!.workflowId,
      createdAt: foreign.body!.createdAt,
    });
    expect((await request('GET', `/v1/answers/${id}`, { key: admin.key })).body).toEqual(aBefore);
  });

  it('conversation messages: B’s message with A’s id is answered like one with a fresh id; A’s conversation is untouched', async () => {
    scriptModel(server, { generate: [truthful] });
    const id = randomUUID();
    const conversation = async (key: string, collection: string) =>
      (await request('POST', '/v1/conversations', { key, body: { collectionIds: [collection] } })).body!.id as string;
    const say = (key: string, conversationId: string, messageId: string) =>
      request('POST', `/v1/conversations/${conversationId}/messages?wait=true`, {
        key,
        body: { id: messageId, content: 'What is the default pickle protocol?' },
      });
    const a = await conversation(admin.key, collectionId);
    expect((await say(admin.key, a, id)).status).toBe(200);
    const aBefore = (await request('GET', `/v1/conversations/${a}`, { key: admin.key })).body;

    const foreign = await say(tenantB.admin.key, await conversation(tenantB.admin.key, collectionB), id);
    const fresh = await say(tenantB.admin.key, await conversation(tenantB.admin.key, collectionB), randomUUID());
    expect(comparable(foreign)).toEqual(comparable(fresh));
    expect(foreign.body).toMatchObject({ id, status: 'answered' });
    expect((await request('GET', `/v1/conversations/${a}`, { key: admin.key })).body).toEqual(aBefore);
  });

  it('self-tests, completions and agent runs: B’s start with A’s id is a run of B’s own, like a fresh id', async () => {
    for (const [path, body] of [
      ['/v1/system/self-test', { probes: 1 }],
      ['/v1/llm/completions', { messages: [{ role: 'user', content: 'hi' }] }],
      ['/v1/agents/runs', { goal: 'Say hello.' }],
    ] as const) {
      const id = `shared-${randomUUID().slice(0, 8)}`;
      const start = (key: string, runId: string) =>
        request('POST', `${path}?wait=true`, { key, body: { ...body, id: runId } });
      const mine = await start(admin.key, id);
      expect(mine.status, path).toBe(200);
      const aRun = await ctx.client.workflow.getHandle(mine.body!.workflowId).describe();

      const foreign = await start(tenantB.admin.key, id);
      const fresh = await start(tenantB.admin.key, `fresh-${randomUUID().slice(0, 8)}`);
      expect(comparable(foreign), path).toEqual(comparable(fresh));
      expect(foreign.body!.workflowId, path).toMatch(new RegExp(`^\\w+:${tenantB.id}:${id}$`));
      expect((await ctx.client.workflow.getHandle(mine.body!.workflowId).describe()).runId, path).toBe(aRun.runId);
    }
  });
});
