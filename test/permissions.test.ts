import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Layer, Router } from '@koa/router';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../api/app';
import { createApiKey } from '../api/auth/api-keys';
import {
  ALL_ROLES,
  MCP_TOOLS,
  PARAM_KINDS,
  PERMISSIONS,
  permissionsMarkdown,
  routeKey,
  toolRoles,
  type ParamKind,
  type RouteRule,
} from '../api/permissions';
import { DocumentEntity, McpServerEntity, McpToolEntity, type Role } from '../lib/db/entities';
import { createLogger } from '../lib/log';
import { createBeyondCloudMcpServer } from '../lib/mcp-server/server';
import { setupTestContext, testAppDeps, type TestContext } from './harness';
import { CORPUS } from './rag-fixtures';
import { PASSWORD, platformAdminKey, uniqueEmail } from './session-client';

/*
 * The permission table (api/permissions.ts) against the code, and the BOLA matrix: every route the routers have,
 * called by every role of tenant A (and a platform admin on the platform routes), with A's own ids, with tenant B's
 * ids and with missing ids. The rules, in the order the app applies them:
 *
 * 1. No key or session: 401 on every route but the public ones, whose handlers answer without one.
 * 2. A role the table does not list: 403 `forbidden`, before any lookup (the handler is not reached), so with B's ids
 *    too; a refused role learns nothing about an id. An admin of another tenant on a platform route: 403 too.
 * 3. A role the table lists, with its own tenant's ids: "allowed", i.e. neither 401 nor 403 nor 404 nor a 500. A 2xx,
 *    a 4xx about the request itself (400 validation, 409 state, 415, 422), or a dependency's 502 (an MCP server that
 *    is not there) is allowed: the minimal request is not meant to succeed everywhere, only to get past
 *    authorization and the lookup.
 * 4. A role the table lists, with B's ids in every tenant-scoped path parameter: exactly what a missing id gets (same
 *    status, same error code: 404), and tenant B's rows are unchanged afterwards.
 *
 * The callers are API keys of each role, and a platform admin's key on the platform routes; the "console session"
 * routes are called by users of each role signed in with a password (a new session per request, as they end it).
 */

interface Route {
  key: string;
  method: string;
  path: string;
  layer: Layer;
  rule: RouteRule;
}
interface Caller {
  name: string;
  role: Role;
  platformAdmin: boolean;
  /** An API key, or else a user who signs in with PASSWORD. */
  key?: string;
  email?: string;
}
type Response = { status: number; code: string | undefined; text: string; body: string };

let ctx: TestContext;
let base: string;
let routes: Route[];
const unknownLayers: string[] = [];
/** Requests that reached a handler (a spy sits just before each one). */
const reached: string[] = [];

const A: Record<string, Caller> = {};
const usersOfA: Record<string, Caller> = {};
let platformAdmin: Caller;
let tenantA: string;
let tenantB: { id: string; key: string };
const fixtures = {} as Record<'A' | 'B', Record<string, string>>;

const uniq = () => randomUUID().slice(0, 8);

/** Signs a user in: the session and CSRF cookies, and the CSRF token writes echo. */
async function signIn(email: string) {
  const res = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`sign-in of ${email}: ${res.status} ${await res.text()}`);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return {
    cookie: res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; '),
    csrf: csrfToken,
  };
}

async function request(
  method: string,
  path: string,
  opts: { key?: string; caller?: Caller; body?: unknown } = {},
): Promise<Response> {
  // JSON, not HTML: the console would otherwise answer unknown GETs with its index page.
  const headers: Record<string, string> = {
    accept: path === '/mcp' ? 'application/json, text/event-stream' : 'application/json',
  };
  const key = opts.key ?? opts.caller?.key;
  if (key) headers.authorization = `Bearer ${key}`;
  else if (opts.caller?.email) {
    const session = await signIn(opts.caller.email);
    headers.cookie = session.cookie;
    headers['x-csrf-token'] = session.csrf;
  }
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  // An event stream of a run still going would not end: its status is all this needs.
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, code: undefined, text: '(event stream)', body: '' };
  }
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, text: text.slice(0, 300), body: text };
}

const keyFor = async (tenantId: string, role: Role) =>
  (await createApiKey(ctx.orm, { tenantId, keyName: `${role}-${uniq()}`, role })).key;

/** A member of the tenant with a password, added by its admin key; its user id. */
async function member(key: string, email: string, role: Role) {
  return (await json(request('POST', '/v1/members', { key, body: { email, role, password: PASSWORD } }), [201]))
    .userId!;
}

/** Another session of a user, and its id (from "who am I" in that session). */
async function sessionId(email: string) {
  const session = await signIn(email);
  const res = await fetch(`${base}/v1/auth/session`, { headers: { cookie: session.cookie } });
  return ((await res.json()) as { sessionId: string }).sessionId;
}

/** Uploads the pickle document into a new collection and waits for the ingest run. */
async function ingest(key: string) {
  const created = await request('POST', '/v1/collections', { key, body: { name: `kb-${uniq()}` } });
  if (created.status !== 201) throw new Error(`collection: ${created.status} ${created.text}`);
  const collection = (JSON.parse(created.body) as { id: string }).id;
  const form = new FormData();
  form.append('file', new Blob([CORPUS['pickle.md']!]), 'pickle.md');
  const res = await fetch(`${base}/v1/collections/${collection}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`upload: ${res.status} ${text}`);
  const { workflowId } = JSON.parse(text) as { workflowId: string };
  await ctx.client.workflow.getHandle(workflowId).result();
  return { collection, ingestRun: workflowId };
}

/** Waits (bounded) for a run to close, whatever its outcome. */
const settled = (workflowId: string) =>
  Promise.race([
    ctx.client.workflow
      .getHandle(workflowId)
      .result()
      .catch(() => undefined),
    sleep(30_000),
  ]);

async function json(res: Promise<Response>, status: number[]) {
  const r = await res;
  if (!status.includes(r.status)) throw new Error(`fixture: ${r.status} ${r.text}`);
  return JSON.parse(r.body) as Record<string, string>;
}

/** A row of every kind a path parameter names, in one tenant, made through the API where it is cheap. */
async function makeFixtures(tenantId: string, key: string): Promise<Record<string, string>> {
  const { collection, ingestRun } = await ingest(key);
  const docs = await request('GET', `/v1/collections/${collection}/documents`, { key });
  const document = (JSON.parse(docs.body) as { documents: Array<{ id: string }> }).documents[0]!.id;
  const answer = (
    await json(
      request('POST', '/v1/answers?wait=true', {
        key,
        body: { question: 'What is the default pickle protocol?', collectionIds: [collection] },
      }),
      [200],
    )
  ).id!;
  const conversation = (
    await json(request('POST', '/v1/conversations', { key, body: { collectionIds: [collection] } }), [201])
  ).id!;
  const selfTestRun = (
    await json(request('POST', '/v1/system/self-test?wait=true', { key, body: { probes: 1 } }), [200])
  ).workflowId!;
  const agentRun = (await json(request('POST', '/v1/agents/runs', { key, body: { goal: 'Say hello.' } }), [200, 202]))
    .workflowId!;
  await settled(agentRun);
  // Issue 20: a saved agent (no tools, so it saves without an MCP server).
  const savedAgent = (
    await json(
      request('POST', '/v1/agents/saved', { key, body: { name: `matrix-${uniq()}`, description: 'A fixture.' } }),
      [201],
    )
  ).id!;
  const em = ctx.orm.em.fork();
  const server = em.create(McpServerEntity, {
    tenantId,
    name: `docs-${uniq()}`,
    transport: 'http',
    url: 'https://mcp.example.com/mcp',
  });
  await em.flush();
  const tool = `lookup-${uniq()}`;
  em.create(McpToolEntity, {
    tenantId,
    serverId: server.id,
    name: tool,
    definition: { name: tool, inputSchema: { type: 'object' } },
    definitionHash: 'a'.repeat(64),
  });
  await em.flush();
  const secret = `matrix-${uniq()}`;
  await json(request('PUT', `/v1/secrets/${secret}`, { key, body: { value: 'hunter2' } }), [201]);
  const keyId = (await createApiKey(ctx.orm, { tenantId, keyName: `fixture-${uniq()}`, role: 'viewer' })).keyId;
  const email = uniqueEmail('fixture');
  const user = await member(key, email, 'viewer');
  const invitation = (
    await json(
      request('POST', '/v1/invitations', { key, body: { email: uniqueEmail('invited'), role: 'viewer' } }),
      [201],
    )
  ).id!;
  const source = (
    await json(
      request('POST', `/v1/collections/${collection}/sources`, {
        key,
        body: { kind: 'urls', urls: [`https://example.com/${uniq()}.html`] },
      }),
      [201],
    )
  ).id!;
  // An upload whose document waits for its one run (each allowed caller of the start gets that same run).
  const upload = `matrix-${uniq()}`;
  await json(
    request('POST', `/v1/collections/${collection}/urls`, {
      key,
      body: { urls: [`https://example.com/${uniq()}.html`], upload },
    }),
    [201],
  );
  const schedule = (
    await json(
      request('POST', '/v1/schedules', {
        key,
        body: {
          name: `matrix-${uniq()}`,
          job: { type: 'syncSource', collectionId: collection, sourceId: source },
          spec: { intervals: [{ every: '1h' }] },
          paused: true,
        },
      }),
      [201],
    )
  ).id!;
  // Issue 19: a dataset, two finished eval runs over it, an experiment comparing them, a replay of the answer.
  const dataset = (
    await json(
      request('POST', '/v1/datasets', {
        key,
        body: {
          name: `matrix-${uniq()}`,
          items: [{ id: 'q1', question: 'What is the default pickle protocol?', goldSources: ['pickle.md'] }],
        },
      }),
      [201],
    )
  ).id!;
  const evalRuns: string[] = [];
  for (let i = 0; i < 2; i++) {
    const started = await json(
      request('POST', '/v1/evals', { key, body: { datasetId: dataset, config: { collectionIds: [collection] } } }),
      [202],
    );
    await settled(started.workflowId!);
    evalRuns.push(started.id!);
  }
  const experiment = (await json(request('POST', '/v1/experiments', { key, body: { evalRunIds: evalRuns } }), [201]))
    .id!;
  const replay = (await json(request('POST', '/v1/replays', { key, body: { answerIds: [answer], setup: {} } }), [202]))
    .id!;
  return {
    collection,
    upload,
    source,
    schedule,
    dataset,
    evalRun: evalRuns[0]!,
    evalRun2: evalRuns[1]!,
    experiment,
    replay,
    // By id: a collection name may be the same in both tenants, an id never is.
    openaiModel: `rag/${collection}`,
    prompt: 'answer',
    document,
    ingestRun,
    answer,
    conversation,
    run: selfTestRun,
    selfTestRun,
    agentRun,
    savedAgent,
    mcpServer: server.id,
    mcpTool: tool,
    secret,
    key: keyId,
    tenant: tenantId,
    user,
    invitation,
    session: await sessionId(email),
  };
}

/**
 * A new row of A for a route that uses it up (deletes, revokes, rotates, cancels), so every caller that is allowed
 * gets one of its own.
 */
async function freshFixture(
  kind: ParamKind,
  caller?: Caller,
  chosen: Record<string, string> = {},
): Promise<string | undefined> {
  const key = A.admin!.key!;
  const em = ctx.orm.em.fork();
  switch (kind) {
    case 'collection':
      return (await json(request('POST', '/v1/collections', { key, body: { name: `gone-${uniq()}` } }), [201])).id;
    case 'document': {
      const doc = em.create(DocumentEntity, {
        tenantId: tenantA,
        collectionId: fixtures.A.collection!,
        sourceKind: 'url',
        source: `https://example.com/${uniq()}.html`,
        metadata: {},
      });
      await em.flush();
      return doc.id;
    }
    case 'mcpServer': {
      const s = em.create(McpServerEntity, {
        tenantId: tenantA,
        name: `gone-${uniq()}`,
        transport: 'http',
        url: 'https://mcp.example.com/mcp',
      });
      await em.flush();
      return s.id;
    }
    case 'source':
      // In the collection the route's path names (a fresh one, when the route uses that up too).
      return (
        await json(
          request('POST', `/v1/collections/${chosen.id ?? fixtures.A.collection!}/sources`, {
            key,
            body: { kind: 'urls', urls: [`https://example.com/${uniq()}.html`] },
          }),
          [201],
        )
      ).id;
    case 'schedule':
      return (
        await json(
          request('POST', '/v1/schedules', {
            key,
            body: {
              name: `gone-${uniq()}`,
              job: { type: 'syncSource', collectionId: fixtures.A.collection!, sourceId: fixtures.A.source! },
              spec: { intervals: [{ every: '1h' }] },
              paused: true,
            },
          }),
          [201],
        )
      ).id;
    case 'dataset':
      return (
        await json(
          request('POST', '/v1/datasets', {
            key,
            body: { name: `gone-${uniq()}`, items: [{ question: 'What is the default pickle protocol?' }] },
          }),
          [201],
        )
      ).id;
    case 'experiment':
      return (
        await json(
          request('POST', '/v1/experiments', {
            key,
            body: { evalRunIds: [fixtures.A.evalRun!, fixtures.A.evalRun2!] },
          }),
          [201],
        )
      ).id;
    case 'savedAgent':
      return (await json(request('POST', '/v1/agents/saved', { key, body: { name: `gone-${uniq()}` } }), [201])).id;
    case 'evalRun':
      return (
        await json(
          request('POST', '/v1/evals', {
            key,
            body: { datasetId: fixtures.A.dataset!, config: { collectionIds: [fixtures.A.collection!] } },
          }),
          [202],
        )
      ).id;
    case 'secret': {
      const name = `gone-${uniq()}`;
      await json(request('PUT', `/v1/secrets/${name}`, { key, body: { value: 'x' } }), [201]);
      return name;
    }
    case 'key':
      return (await createApiKey(ctx.orm, { tenantId: tenantA, keyName: `gone-${uniq()}`, role: 'viewer' })).keyId;
    case 'user':
      return member(key, uniqueEmail('gone'), 'viewer');
    case 'invitation':
      return (
        await json(
          request('POST', '/v1/invitations', { key, body: { email: uniqueEmail('gone'), role: 'viewer' } }),
          [201],
        )
      ).id;
    case 'session':
      // Another session of the caller's own user.
      return caller?.email ? sessionId(caller.email) : undefined;
    case 'run':
      // A run still going, for the cancel to aim at.
      return (await json(request('POST', '/v1/system/self-test', { key, body: { probes: 1, holdMs: 30_000 } }), [202]))
        .workflowId;
    default:
      return undefined;
  }
}
const usesUp = (r: Route) => r.method === 'DELETE' || /\/(revoke|rotate|cancel)$/.test(r.path);
const folder = () => join(inject('tmpDir'), 'permissions-folder');

/** A missing id of each kind: the shape of a real one, naming nothing. */
function missing(kind: ParamKind): string {
  switch (PARAM_KINDS[kind].format) {
    case 'uuid':
      return randomUUID();
    case 'workflowId':
      return `${kind === 'agentRun' ? 'agent' : kind === 'ingestRun' ? 'ingest' : 'self-test'}:${tenantA}:${randomUUID()}`;
    default:
      return `missing-${uniq()}`;
  }
}

/** A body each route accepts from a caller allowed to use it (so only the role or the id stands in the way). */
function bodyOf(r: Route): unknown {
  const collectionIds = [fixtures.A.collection];
  const bodies: Record<string, unknown> = {
    'POST /v1/system/self-test': { probes: 1 },
    'POST /v1/llm/completions': { messages: [{ role: 'user', content: 'hi' }] },
    'POST /v1/collections': { name: `matrix-${uniq()}` },
    'POST /v1/collections/:id/urls': { urls: ['https://example.com/page.html'] },
    'POST /v1/collections/:id/folder': { path: folder() },
    'POST /v1/answers': { question: 'What is the default pickle protocol?', collectionIds },
    'POST /v1/answers/:id/review': { decision: 'approve' },
    'POST /v1/grounding': { answer: 'Protocol 5.', contexts: ['The default pickle protocol is protocol 5.'] },
    'POST /v1/search': { query: 'pickle protocol', collectionIds },
    'POST /v1/conversations': { collectionIds },
    'POST /v1/conversations/:id/messages': { content: 'What is the default pickle protocol?' },
    'POST /v1/mcp/servers': {
      transport: 'http',
      name: `m-${uniq()}`,
      url: 'https://mcp.example.com/other',
      discover: false,
    },
    'PATCH /v1/mcp/servers/:id': { enabled: true },
    'POST /v1/mcp/servers/:id/tools/:name/approve': { definitionHash: 'a'.repeat(64) },
    'POST /v1/agents/runs': { goal: 'Say hello.' },
    'POST /v1/agents/runs/:id/approvals': { callId: 'c1', approve: true },
    'POST /v1/agents/saved': { name: `matrix-${uniq()}` },
    'PATCH /v1/agents/saved/:id': { description: `matrix ${uniq()}` },
    'POST /v1/agents/saved/:id/runs': { goal: 'Say hello.' },
    'PUT /v1/secrets/:name': { value: 'hunter2' },
    'POST /v1/keys': { name: `matrix-${uniq()}`, role: 'viewer' },
    'ALL /mcp': { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
    'POST /v1/auth/login': { email: usersOfA.viewer?.email, password: PASSWORD },
    'POST /v1/auth/invitations/accept': { token: 'not-an-invitation', password: PASSWORD },
    'POST /v1/auth/session/tenant': { tenantId: tenantA },
    'POST /v1/auth/password': { currentPassword: PASSWORD, newPassword: PASSWORD },
    'POST /v1/tenants': { name: `matrix-${uniq()}` },
    'PUT /v1/tenants/:id/quotas': {},
    'POST /v1/members': { email: uniqueEmail('matrix'), role: 'viewer', password: PASSWORD },
    'PATCH /v1/members/:userId': { role: 'viewer' },
    'POST /v1/invitations': { email: uniqueEmail('matrix'), role: 'viewer' },
    'POST /v1/collections/:id/sources': { kind: 'urls', urls: [`https://example.com/${uniq()}.html`] },
    'PATCH /v1/collections/:id/sources/:sourceId': { name: `matrix-${uniq()}` },
    'POST /v1/schedules': {
      name: `matrix-${uniq()}`,
      job: { type: 'syncSource', collectionId: fixtures.A.collection, sourceId: fixtures.A.source },
      spec: { intervals: [{ every: '1h' }] },
      paused: true,
    },
    'PATCH /v1/schedules/:id': { description: `matrix ${uniq()}` },
    'POST /v1/prompts/:name/versions': { text: `Answer from the passages only. (${uniq()})` },
    'PUT /v1/prompts/:name/labels': { label: 'candidate', version: 1 },
    'POST /v1/datasets': { name: `matrix-${uniq()}`, items: [{ question: 'What is the default pickle protocol?' }] },
    'POST /v1/datasets/from-answers': { name: `matrix-${uniq()}`, answerIds: [fixtures.A.answer] },
    'PATCH /v1/datasets/:id': { description: `matrix ${uniq()}` },
    'POST /v1/datasets/:id/versions': { add: [{ question: `Added ${uniq()}?` }] },
    'POST /v1/evals': { datasetId: fixtures.A.dataset, config: { collectionIds } },
    'POST /v1/experiments': { evalRunIds: [fixtures.A.evalRun, fixtures.A.evalRun2] },
    'POST /v1/replays': { answerIds: [fixtures.A.answer], setup: {} },
    'POST /v1/openai/chat/completions': {
      model: `rag/${fixtures.A.collection}`,
      messages: [{ role: 'user', content: 'What is the default pickle protocol?' }],
    },
    'POST /v1/openai/embeddings': { model: `rag/${fixtures.A.collection}`, input: 'pickle protocol' },
    'POST /v1/schedules/:id/backfill': {
      start: new Date(Date.now() - 7_200_000).toISOString(),
      end: new Date(Date.now() - 3_600_000).toISOString(),
    },
  };
  return bodies[r.key] ?? (r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
}

const methodOf = (r: Route) => (r.method === 'ALL' ? 'POST' : r.method);
/** `forbidden` for a role; an admin of another tenant on a platform route (the tenants routes say so by name). */
const refusalCodes = (r: Route, c: Caller) =>
  r.rule.platformAdmin && r.rule.roles.includes(c.role) ? ['forbidden', 'platform_admin_required'] : ['forbidden'];
const allows = (r: Route, c: Caller) => r.rule.roles.includes(c.role) && (!r.rule.platformAdmin || c.platformAdmin);
const scopedParams = (r: Route) => Object.entries(r.rule.params).filter(([, k]) => PARAM_KINDS[k].tenantScoped);
const callersOf = (r: Route) =>
  r.rule.session ? Object.values(usersOfA) : [...Object.values(A), ...(r.rule.platformAdmin ? [platformAdmin] : [])];

/** The route's path with each parameter filled: A's own row (a fresh one if the route uses it up), B's, or none. */
async function pathOf(
  r: Route,
  variant: 'own' | 'foreign' | 'missing',
  opts: { fresh?: boolean; caller?: Caller } = {},
): Promise<string> {
  const fresh = opts.fresh ?? true;
  const values: Record<string, string> = {};
  for (const [param, kind] of Object.entries(r.rule.params)) {
    const scoped = PARAM_KINDS[kind].tenantScoped;
    let value: string | undefined;
    if (variant === 'foreign' && scoped) value = fixtures.B[kind];
    else if (variant === 'missing' && scoped) value = missing(kind);
    else if (kind === 'newSecret') value = `new-${uniq()}`;
    else value = (fresh && usesUp(r) ? await freshFixture(kind, opts.caller, values) : undefined) ?? fixtures.A[kind];
    if (value === undefined) throw new Error(`${r.key}: no fixture for a ${kind} (add one to makeFixtures)`);
    values[param] = value;
  }
  return r.path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(values[p]!));
}

/** Every row of a tenant in every table with a tenant_id (bar spans, which requests themselves write). */
async function tenantRows(tenantId: string): Promise<Record<string, string>> {
  const conn = ctx.orm.em.getConnection();
  const tables = (await conn.execute(
    `select distinct table_name as t from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id' and table_name not in ('spans') order by 1`,
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

afterAll(async () => {
  await ctx?.close();
});
beforeAll(async () => {
  mkdirSync(folder(), { recursive: true });
  writeFileSync(join(folder(), 'note.md'), '# Note\n\nA file for the folder route.\n');
  ctx = await setupTestContext({
    TENANT_SECRETS_KEY: randomBytes(32).toString('base64'),
    INGEST_FOLDER_ROOTS: folder(),
  });
  const app = createApp(
    testAppDeps({ config: ctx.config, orm: ctx.orm, temporal: ctx.client, log: createLogger('silent', 'permissions') }),
  );
  routes = [];
  for (const mw of app.middleware as Array<Middleware & { router?: Router }>) {
    for (const layer of mw.router?.stack ?? []) {
      if (!layer.methods.length) continue;
      const key = routeKey(layer);
      const rule = PERMISSIONS[key];
      if (!rule) {
        unknownLayers.push(key);
        continue;
      }
      const spy: Middleware = (c, next) => {
        reached.push(`${c.method} ${c.path}`);
        return next();
      };
      layer.stack.splice(layer.stack.length - 1, 0, spy as never);
      const [method, path] = key.split(' ') as [string, string];
      routes.push({ key, method, path, layer, rule });
    }
  }
  const http: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  ctx.onClose(() => new Promise<void>((r) => http.close(() => r())));
  await ctx.startWorker();

  tenantA = ctx.tenant.id;
  for (const role of ALL_ROLES)
    A[role] = {
      name: `A ${role}`,
      key: role === 'admin' ? ctx.tenant.key : await keyFor(tenantA, role),
      role,
      platformAdmin: false,
    };
  for (const role of ALL_ROLES) {
    const email = uniqueEmail(`a-${role}`);
    await member(ctx.tenant.key, email, role);
    usersOfA[role] = { name: `A ${role} (session)`, email, role, platformAdmin: false };
  }
  platformAdmin = {
    name: 'platform admin',
    key: (await platformAdminKey(ctx.orm)).key,
    role: 'admin',
    platformAdmin: true,
  };
  tenantB = await ctx.addTenant('admin');
  [fixtures.A, fixtures.B] = await Promise.all([
    makeFixtures(tenantA, ctx.tenant.key),
    makeFixtures(tenantB.id, tenantB.key),
  ]);
}, 240_000);

describe('the permission table is the code’s', () => {
  it('has one entry for every route of every router, and a route for every entry', () => {
    const keys = routes.map((r) => r.key);
    expect(unknownLayers, 'routes without an entry in api/permissions.ts').toEqual([]);
    expect(
      keys.filter((k, i) => keys.indexOf(k) !== i),
      'routes registered twice',
    ).toEqual([]);
    expect(
      Object.keys(PERMISSIONS).filter((k) => !keys.includes(k)),
      'entries without a route',
    ).toEqual([]);
    expect(keys.length).toBeGreaterThan(50);
  });

  it('lists exactly the roles of each route’s requireRole guard (no guard: every role, or public)', () => {
    const differ: string[] = [];
    for (const r of routes) {
      const guard = r.layer.stack.find((fn) => 'roles' in fn) as { roles?: readonly Role[] } | undefined;
      const code = guard?.roles ? [...guard.roles].sort() : r.rule.public ? [] : [...ALL_ROLES].sort();
      if (guard && r.rule.public) differ.push(`${r.key}: public in the table but guarded by ${code.join(', ')}`);
      if (JSON.stringify(code) !== JSON.stringify([...r.rule.roles].sort()))
        differ.push(`${r.key}: the code allows ${code.join(', ')}, the table ${r.rule.roles.join(', ')}`);
    }
    expect(differ).toEqual([]);
  });

  it('names every path parameter of every route', () => {
    const differ = routes
      .map((r) => ({
        route: r.key,
        code: r.layer.paramNames.map((p) => String(p.name)).sort(),
        table: Object.keys(r.rule.params).sort(),
      }))
      .filter((x) => JSON.stringify(x.code) !== JSON.stringify(x.table));
    expect(differ).toEqual([]);
  });

  it('lists every tool of the MCP server, each calling routes of the table', async () => {
    const server = createBeyondCloudMcpServer({} as never);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'permissions-test', version: '1.0.0' });
    await client.connect(clientSide);
    const { tools } = await client.listTools();
    await client.close();
    await server.close();
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(MCP_TOOLS).sort());
    for (const [tool, { calls }] of Object.entries(MCP_TOOLS)) {
      expect(
        calls.filter((c) => !PERMISSIONS[c]),
        tool,
      ).toEqual([]);
      expect(toolRoles(tool).length, tool).toBeGreaterThan(0);
    }
  });

  it('is the README’s permissions section, word for word', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = /<!-- permissions:start -->\n([\s\S]*?)\n<!-- permissions:end -->/.exec(readme)?.[1];
    const expected = permissionsMarkdown();
    if (section !== expected)
      console.log(
        `README.md's section between <!-- permissions:start --> and <!-- permissions:end --> should be:\n\n${expected}\n`,
      );
    expect(section).toBe(expected);
  });
});

describe('the BOLA matrix: every route, every role, own and foreign ids', () => {
  it('answers 401 without a key or session on every route but the public ones, whose handlers answer', async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      reached.length = 0;
      const path = await pathOf(r, 'missing', { fresh: false });
      const res = await request(methodOf(r), path, { body: bodyOf(r) });
      if (r.rule.public ? reached.length !== 1 || res.status === 500 : res.status !== 401 || reached.length > 0)
        wrong.push(`${r.key} without a key: ${res.status} ${res.text} (handler reached: ${reached.length > 0})`);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses every role the table does not list with 403 forbidden, before any lookup, own ids or foreign', async () => {
    reached.length = 0;
    const wrong: string[] = [];
    let refusals = 0;
    for (const r of routes.filter((r) => !r.rule.public)) {
      for (const caller of callersOf(r).filter((c) => !allows(r, c))) {
        const variants: Array<'own' | 'foreign'> = scopedParams(r).length ? ['own', 'foreign'] : ['own'];
        for (const variant of variants) {
          const res = await request(methodOf(r), await pathOf(r, variant, { fresh: false, caller }), {
            caller,
            body: bodyOf(r),
          });
          refusals++;
          if (res.status !== 403 || !refusalCodes(r, caller).includes(res.code!))
            wrong.push(`${r.key} as ${caller.name} with ${variant} ids: ${res.status} ${res.text}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(reached, 'handlers reached by a refused role').toEqual([]);
    expect(refusals).toBeGreaterThan(30);
  }, 180_000);

  it('lets every role the table lists through with its own tenant’s ids (no 401, 403, 404 or 5xx)', async () => {
    const wrong: string[] = [];
    for (const r of routes.filter((r) => !r.rule.public)) {
      for (const caller of callersOf(r).filter((c) => allows(r, c))) {
        const path = await pathOf(r, 'own', { caller });
        const res = await request(methodOf(r), path, { caller, body: bodyOf(r) });
        if ([401, 403, 404, 500].includes(res.status) || res.code === 'internal')
          wrong.push(`${r.key} as ${caller.name} (${path}): ${res.status} ${res.text}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 240_000);

  it('answers tenant B’s ids exactly like missing ones (404, same code) and leaves B’s rows as they were', async () => {
    const before = await tenantRows(tenantB.id);
    const wrong: string[] = [];
    let compared = 0;
    for (const r of routes.filter((r) => scopedParams(r).length > 0)) {
      for (const caller of callersOf(r).filter((c) => allows(r, c))) {
        const foreign = await request(methodOf(r), await pathOf(r, 'foreign', { caller }), { caller, body: bodyOf(r) });
        const absent = await request(methodOf(r), await pathOf(r, 'missing', { caller }), { caller, body: bodyOf(r) });
        compared++;
        if (foreign.status !== 404 || foreign.status !== absent.status || foreign.code !== absent.code)
          wrong.push(
            `${r.key} as ${caller.name}: B's ids ${foreign.status} ${foreign.text}; missing ids ${absent.status} ${absent.text}`,
          );
      }
    }
    expect(wrong).toEqual([]);
    expect(compared).toBeGreaterThan(40);
    expect(await tenantRows(tenantB.id)).toEqual(before);
  }, 180_000);

  it('answers B’s ids in bodies and queries exactly like missing ones, never with B’s data', async () => {
    const cases: Array<[string, string, (id: string) => unknown]> = [
      ['POST', '/v1/answers', (id) => ({ question: 'What is the default pickle protocol?', collectionIds: [id] })],
      ['POST', '/v1/search', (id) => ({ query: 'pickle protocol', collectionIds: [id] })],
      ['POST', '/v1/conversations', (id) => ({ collectionIds: [id] })],
      ['POST', '/v1/agents/runs', (id) => ({ goal: 'Search the docs.', tools: ['kb/search'], collectionIds: [id] })],
    ];
    const wrong: string[] = [];
    const compare = async (label: string, foreign: Response, absent: Response) => {
      if (foreign.status < 400 || foreign.status !== absent.status || foreign.code !== absent.code)
        wrong.push(`${label}: B's id ${foreign.status} ${foreign.text}; a missing id ${absent.status} ${absent.text}`);
    };
    for (const [method, path, body] of cases) {
      const ask = (id: string) => request(method, path, { key: A.operator!.key, body: body(id) });
      await compare(`${method} ${path}`, await ask(fixtures.B.collection!), await ask(randomUUID()));
    }
    // Only a platform admin reads another tenant's audit log.
    const audit = (id: string) => request('GET', `/v1/audit?tenantId=${id}`, { key: A.admin!.key });
    await compare('GET /v1/audit?tenantId=', await audit(tenantB.id), await audit(randomUUID()));
    expect(wrong).toEqual([]);
  });

  it('lets an MCP tool do exactly what the roles of the routes it calls allow', async () => {
    const args: Record<string, Record<string, unknown>> = {
      search_knowledge: { query: 'pickle protocol', collectionIds: [fixtures.A.collection] },
      ask: { question: 'What is the default pickle protocol?', collectionIds: [fixtures.A.collection] },
      ingest_url: { collection: fixtures.A.collection, urls: ['https://example.com/page.html'] },
      run_status: { runId: fixtures.A.selfTestRun },
    };
    const wrong: string[] = [];
    for (const caller of Object.values(A)) {
      const client = new Client({ name: 'permissions-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${caller.key!}` } },
        }),
      );
      for (const tool of Object.keys(MCP_TOOLS)) {
        const res = (await client.callTool({ name: tool, arguments: args[tool] })) as CallToolResult;
        const text = res.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
        const refused = res.isError === true && /needs one of the roles|forbidden/i.test(text);
        if (refused === toolRoles(tool).includes(caller.role))
          wrong.push(`${tool} as ${caller.name}: ${refused ? 'refused' : 'allowed'}: ${text.slice(0, 200)}`);
      }
      await client.close();
    }
    expect(wrong).toEqual([]);
  }, 180_000);
});
