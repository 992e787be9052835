import type { Router } from '@koa/router';
import { Ajv2020 } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { documentedMethods, openapiPath } from '../api/openapi/document';
import { PERMISSIONS, routeKey } from '../api/permissions';
import { setupTestContext, startTestApi, testAppDeps, type TestContext } from './harness';

// The OpenAPI 3.1 document served at /v1/openapi.json: every route of the routers and nothing else, each operation
// with the one error shape, its path parameters declared, and every schema in it a valid JSON Schema 2020-12.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a parsed document, read field by field

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let doc: Json;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const operations = () =>
  Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ path, method, op: op as Json })),
  );

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  const res = await fetch(`${api.base}/v1/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Json;
});

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1, served without a key', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'csrfToken', 'sessionCookie']);
  });

  it('has every route of every router and nothing else', () => {
    const app = createApp(testAppDeps({ config: ctx.config, orm: ctx.orm, temporal: ctx.client }));
    const routed = (app.middleware as Array<Middleware & { router?: Router }>)
      .flatMap((mw) => mw.router?.stack ?? [])
      .filter((layer) => layer.methods.length > 0)
      .flatMap((layer) => {
        const [method, path] = routeKey(layer).split(' ') as [string, string];
        return documentedMethods(method).map((m) => `${m.toUpperCase()} ${openapiPath(path)}`);
      })
      .sort();
    const documented = operations()
      .map((o) => `${o.method.toUpperCase()} ${o.path}`)
      .sort();
    expect(documented).toEqual(routed);
    expect(documented.length).toBe(Object.keys(PERMISSIONS).length);
  });

  it('gives every operation a unique id, its path parameters, its permissions and the error shape', () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      if (ids.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} twice`);
      ids.add(op.operationId);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = ((op.parameters ?? []) as Json[])
        .filter((p) => p.in === 'path')
        .map((p) => {
          if (p.required !== true) problems.push(`${where}: path parameter ${p.name} not required`);
          return p.name as string;
        })
        .sort();
      if (JSON.stringify(templated) !== JSON.stringify(declared))
        problems.push(`${where}: path parameters ${declared.join(',')} for ${templated.join(',')}`);
      if (!op['x-permissions']) problems.push(`${where}: no x-permissions`);
      const statuses = Object.keys(op.responses);
      if (!statuses.some((s) => /^[23]/.test(s))) problems.push(`${where}: no success (or redirect) response`);
      for (const status of ['400', '4XX', '5XX', ...(op['x-permissions']?.public ? [] : ['401', '403'])]) {
        const schema = op.responses[status]?.content?.['application/json']?.schema;
        const refs = JSON.stringify(schema ?? null);
        // The OpenAI-compatible routes answer errors in OpenAI's shape, which OpenAI clients parse.
        const shape = path.startsWith('/v1/openai/') ? 'OpenAIError' : 'Error';
        if (!refs.includes(`"#/components/schemas/${shape}"`))
          problems.push(`${where}: ${status} is not the ${shape} shape`);
      }
      if (op['x-permissions']?.public && JSON.stringify(op.security) !== '[]')
        problems.push(`${where}: public but requires security`);
    }
    expect(problems).toEqual([]);
    expect(doc.components.schemas.Error).toMatchObject({
      type: 'object',
      required: ['error'],
      properties: { error: { required: ['code', 'message'] } },
    });
  });

  it('holds only schemas that compile as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
    const failures: string[] = [];
    const compile = (where: string, schema: unknown) => {
      try {
        // References point into the document's components.
        ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')) as object);
      } catch (e) {
        failures.push(`${where}: ${(e as Error).message}`);
      }
    };
    let compiled = 0;
    const each = (where: string, schema: unknown) => {
      compile(where, schema);
      compiled++;
    };
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      for (const p of (op.parameters ?? []) as Json[]) each(`${where} ${p.name}`, p.schema);
      for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Record<string, Json>))
        each(`${where} body ${type}`, media.schema);
      for (const [status, r] of Object.entries(op.responses as Record<string, Json>))
        for (const [type, media] of Object.entries((r.content ?? {}) as Record<string, Json>))
          each(`${where} ${status} ${type}`, media.schema);
    }
    expect(failures).toEqual([]);
    expect(compiled).toBeGreaterThan(300);
  });

  it('validates like the routes do: a request body the route refuses is refused by its schema too', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const body = (path: string, method: string) =>
      ajv.compile(doc.paths[path][method].requestBody.content['application/json'].schema as object);
    expect(body('/v1/keys', 'post')({ name: 'ci', role: 'operator' })).toBe(true);
    expect(body('/v1/keys', 'post')({ name: 'ci', role: 'owner' })).toBe(false);
    expect(body('/v1/answers/{id}/review', 'post')({ decision: 'approve', reviewer: 'the CEO' })).toBe(false);
    expect(body('/v1/search', 'post')({ query: 'pickle', collectionIds: ['not-a-uuid'] })).toBe(false);
  });
});

describe('typed answers', () => {
  it('match their documented schemas (the caller, the sign-in options, the keys: never a hash)', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const key = ctx.tenant.key;
    const created = await api.request('POST', '/v1/keys', { key, body: { name: 'typed', role: 'viewer' } });
    const rotated = await api.request('POST', `/v1/keys/${created.body!.id as string}/rotate`, { key });
    const checks: Array<[string, string, string, unknown]> = [
      ['/v1/system/me', 'get', '200', (await api.request('GET', '/v1/system/me', { key })).body],
      ['/v1/auth/providers', 'get', '200', (await api.request('GET', '/v1/auth/providers')).body],
      ['/v1/keys', 'get', '200', (await api.request('GET', '/v1/keys', { key })).body],
      ['/v1/keys', 'post', '201', created.body],
      ['/v1/keys/{id}/rotate', 'post', '201', rotated.body],
    ];
    for (const [path, method, status, body] of checks) {
      const validate = ajv.compile(doc.paths[path][method].responses[status].content['application/json'].schema);
      expect(validate(body) ? [] : validate.errors, `${method} ${path}`).toEqual([]);
    }
  });
});

describe('the API reference page', () => {
  it('is served without a key and names every operation', async () => {
    const res = await fetch(`${api.base}/v1/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    for (const { path, op } of operations()) {
      expect(html).toContain(`id="${op.operationId as string}"`);
      expect(html).toContain(`<code>${path}</code>`);
    }
    expect(html).not.toMatch(/<script/i);
  });
});
