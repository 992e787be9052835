import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SavedAgentsService } from '../api/agents/saved';
import { AGENT_DEFAULTS } from '../lib/contracts';
import { until } from './agents/helpers';
import { setupTestContext, startTestApi, type TestContext } from './harness';

// Saved agents (/v1/agents/saved) with the offline local provider and a real worker: saved definitions are checked
// like a run start, names are unique per tenant, a run of one is a normal agent run, viewers read only, and another
// tenant's agent answers exactly like a missing one.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let viewer: string;
let other: { id: string; key: string };

beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  const created = await api.request('POST', '/v1/keys', {
    key: ctx.tenant.key,
    body: { name: 'viewer', role: 'viewer' },
  });
  expect(created.status).toBe(201);
  viewer = created.body!.key as string;
  other = await ctx.addTenant('admin');
});
afterAll(async () => {
  await ctx?.close();
});

const call = (method: string, path: string, body?: unknown, key = ctx.tenant.key) =>
  api.request(method, path, { key, body }) as Promise<{ status: number; body: Json }>;
const uniq = () => randomUUID().slice(0, 8);
const create = (body: Json, key?: string) => call('POST', '/v1/agents/saved', body, key);

/** The API's error shape with the given status and code. */
const expectError = (res: { status: number; body: Json }, status: number, code: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
};

describe('saved agents', () => {
  let agent: Json;

  beforeAll(async () => {
    const res = await create({
      name: `greeter-${uniq()}`,
      description: 'Says hello.',
      instructions: 'Be brief.',
      budgets: { maxTurns: 3 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    agent = res.body;
  });

  it('creates one with the run start’s defaults filled in, and records who saved it', async () => {
    expect(agent).toMatchObject({
      id: expect.any(String),
      description: 'Says hello.',
      instructions: 'Be brief.',
      tools: [],
      budgets: { maxTurns: 3 },
      approvalTimeoutMs: AGENT_DEFAULTS.approvalTimeoutMs,
      turnsPerRun: AGENT_DEFAULTS.turnsPerRun,
      createdBy: expect.stringContaining('test'),
    });
    expect(agent).not.toHaveProperty('goal');
    const audit = await call('GET', `/v1/audit?action=agents.saved.create&target=${agent.id}`);
    expect(audit.status).toBe(200);
    expect(audit.body.entries).toHaveLength(1);
  });

  it('lists and reads it, to every role', async () => {
    const list = await call('GET', '/v1/agents/saved', undefined, viewer);
    expect(list.status).toBe(200);
    expect(list.body.agents).toContainEqual(agent);
    const one = await call('GET', `/v1/agents/saved/${agent.id}`, undefined, viewer);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(agent);
  });

  it('refuses a name the tenant uses already with 409 name_taken; another tenant may use it', async () => {
    expectError(await create({ name: agent.name }), 409, 'name_taken');
    const theirs = await create({ name: agent.name }, other.key);
    expect(theirs.status).toBe(201);
    expect((await call('GET', '/v1/agents/saved', undefined, other.key)).body.agents).toEqual([theirs.body]);
  });

  it('refuses names outside the pattern, unknown fields and a goal with 400 validation_failed', async () => {
    for (const name of ['Greeter', 'with space', '-lead', '', 'a'.repeat(65), 'agent/x', 'ünï'])
      expectError(await create({ name }), 400, 'validation_failed');
    expectError(await create({ name: `n-${uniq()}`, goal: 'Say hello.' }), 400, 'validation_failed');
    expectError(await create({ name: `n-${uniq()}`, surprise: true }), 400, 'validation_failed');
    expectError(await create({ name: `n-${uniq()}`, budgets: { maxTurns: 0 } }), 400, 'validation_failed');
    expectError(await create({ name: `n-${uniq()}`, tools: 'kb/search' }), 400, 'validation_failed');
    expectError(await create({ name: 12 }), 400, 'validation_failed');
    const raw = await api.request('POST', '/v1/agents/saved', { key: ctx.tenant.key, rawBody: '[1, 2]' });
    expectError(raw as { status: number; body: Json }, 400, 'validation_failed');
  });

  it('checks tools and collections when saving, with the run start’s codes', async () => {
    const name = `n-${uniq()}`;
    const unavailable = await create({ name, tools: ['nowhere/lookup'] });
    expectError(unavailable, 400, 'agent_tool_unavailable');
    expectError(await create({ name, tools: ['kb/search'] }), 400, 'collection_ids_required');
    // The same answers as POST /v1/agents/runs, for a missing collection and another tenant's alike.
    const runs = await call('POST', '/v1/agents/runs', { goal: 'x', tools: ['nowhere/lookup'] });
    expect(runs.body.error.code).toBe(unavailable.body.error.code);
    const missing = await create({ name, tools: ['kb/search'], collectionIds: [randomUUID()] });
    expectError(missing, 404, 'collection_not_found');
    expect((await call('GET', '/v1/agents/saved')).body.agents.map((a: Json) => a.name)).not.toContain(name);
  });

  it('changes the fields given, clears those sent as null, and checks the result', async () => {
    const made = await create({ name: `edit-${uniq()}`, instructions: 'Be brief.', model: 'local', temperature: 0.2 });
    expect(made.status).toBe(201);
    const path = `/v1/agents/saved/${made.body.id}`;
    const renamed = `edited-${uniq()}`;
    const patched = await call('PATCH', path, {
      name: renamed,
      description: 'Edited.',
      instructions: null,
      turnsPerRun: 5,
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ name: renamed, description: 'Edited.', turnsPerRun: 5, model: 'local' });
    expect(patched.body).not.toHaveProperty('instructions');
    expect(new Date(patched.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(made.body.updatedAt).getTime());
    expect((await call('GET', path)).body).toEqual(patched.body);

    expectError(await call('PATCH', path, { name: agent.name }), 409, 'name_taken');
    expectError(await call('PATCH', path, {}), 400, 'validation_failed');
    expectError(await call('PATCH', path, { goal: 'x' }), 400, 'validation_failed');
    expectError(await call('PATCH', path, { tools: ['nowhere/*'] }), 400, 'agent_tool_unavailable');
    expectError(await call('PATCH', path, { tools: ['kb/ask'] }), 400, 'collection_ids_required');
    // Nothing of the refused changes was kept.
    expect((await call('GET', path)).body).toEqual(patched.body);
  });

  it('runs one by id as a normal agent run, listed with the tenant’s runs', async () => {
    const res = await call('POST', `/v1/agents/saved/${agent.id}/runs?wait=true`, { goal: 'Say hello.' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: 'completed', result: { status: 'completed' } });
    const { workflowId } = res.body as { workflowId: string };
    expect(workflowId.startsWith(`agent:${ctx.tenant.id}:`)).toBe(true);
    const view = await call('GET', `/v1/agents/runs/${encodeURIComponent(workflowId)}`, undefined, viewer);
    expect(view.body).toMatchObject({ status: 'completed', state: expect.anything() });
    const listed = await until('the run in the runs list', async () => {
      const runs = await call('GET', '/v1/runs?kind=agent&pageSize=200');
      return (runs.body.runs as Json[]).find((r) => r.workflowId === workflowId);
    });
    expect(listed).toMatchObject({ kind: 'agent', status: 'completed' });
  });

  it('answers 202 without ?wait=true, and a client id makes the start idempotent', async () => {
    const id = `saved-${uniq()}`;
    const first = await call('POST', `/v1/agents/saved/${agent.id}/runs`, { goal: 'Say hello.', id });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body).toEqual({ workflowId: `agent:${ctx.tenant.id}:${id}`, status: 'running' });
    const handle = ctx.client.workflow.getHandle(first.body.workflowId);
    await handle.result();
    const { runId } = await handle.describe();
    const again = await call('POST', `/v1/agents/saved/${agent.id}/runs`, { goal: 'Say hello.', id });
    expect(again.body.workflowId).toBe(first.body.workflowId);
    expect((await handle.describe()).runId).toBe(runId);
    expectError(await call('POST', `/v1/agents/saved/${agent.id}/runs`, {}), 400, 'validation_failed');
    expectError(
      await call('POST', `/v1/agents/saved/${agent.id}/runs`, { goal: 'Say hello.', tools: [] }),
      400,
      'validation_failed',
    );
  });

  it('lets a viewer read but not write', async () => {
    const path = `/v1/agents/saved/${agent.id}`;
    expectError(await create({ name: `v-${uniq()}` }, viewer), 403, 'forbidden');
    expectError(await call('PATCH', path, { description: 'x' }, viewer), 403, 'forbidden');
    expectError(await call('DELETE', path, undefined, viewer), 403, 'forbidden');
    expectError(await call('POST', `${path}/runs`, { goal: 'Say hello.' }, viewer), 403, 'forbidden');
    expect((await call('GET', path)).body).toEqual(agent);
  });

  it('answers another tenant’s id exactly like a missing one, on every route', async () => {
    const theirs = await create({ name: `theirs-${uniq()}`, description: 'Not yours.' }, other.key);
    expect(theirs.status).toBe(201);
    const requests: Array<[string, string, unknown?]> = [
      ['GET', ''],
      ['PATCH', '', { description: 'Mine now.' }],
      ['POST', '/runs', { goal: 'Say hello.' }],
      ['DELETE', ''],
    ];
    for (const [method, suffix, body] of requests) {
      const foreign = await call(method, `/v1/agents/saved/${theirs.body.id}${suffix}`, body);
      const missing = await call(method, `/v1/agents/saved/${randomUUID()}${suffix}`, body);
      const notUuid = await call(method, `/v1/agents/saved/not-a-uuid${suffix}`, body);
      expectError(foreign, 404, 'not_found');
      expect(foreign.body).toEqual(missing.body);
      expect(notUuid.body).toEqual(missing.body);
    }
    expect((await call('GET', `/v1/agents/saved/${theirs.body.id}`, undefined, other.key)).body).toEqual(theirs.body);
  });

  it('deletes one: 204, then 404', async () => {
    const made = await create({ name: `gone-${uniq()}` });
    const path = `/v1/agents/saved/${made.body.id}`;
    const deleted = await call('DELETE', path);
    expect(deleted.status).toBe(204);
    expectError(await call('GET', path), 404, 'not_found');
    expectError(await call('DELETE', path), 404, 'not_found');
    // Its name is free again.
    expect((await create({ name: made.body.name })).status).toBe(201);
  });
});

describe('SavedAgentsService for the OpenAI-compatible endpoint', () => {
  const service = () => new SavedAgentsService(ctx.client, ctx.orm, ctx.config);

  it('finds an agent by name in the tenant only', async () => {
    const name = `by-name-${uniq()}`;
    expect((await create({ name, model: 'local' })).status).toBe(201);
    const found = await service().byName(ctx.tenant.id, name);
    expect(found).toMatchObject({ name, tenantId: ctx.tenant.id, config: { model: 'local', tools: [] } });
    expect(await service().byName(other.id, name)).toBeNull();
    expect(await service().byName(ctx.tenant.id, 'No Such Name')).toBeNull();
  });

  it('makes a run start of it, the caller’s model, temperature and id in place of the saved ones', async () => {
    const name = `start-${uniq()}`;
    expect((await create({ name, model: 'local', temperature: 0.5, instructions: 'Be brief.' })).status).toBe(201);
    const saved = (await service().byName(ctx.tenant.id, name))!;
    expect(service().startBody(saved, 'Say hello.')).toEqual({ ...saved.config, goal: 'Say hello.' });
    expect(service().startBody(saved, 'Say hello.', { model: undefined, temperature: 0, id: 'abc' })).toMatchObject({
      goal: 'Say hello.',
      model: 'local',
      temperature: 0,
      id: 'abc',
      instructions: 'Be brief.',
    });
  });
});
