import { request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app';
import { answerClientErrors } from '../api/errors';
import { CollectionEntity } from '../lib/db/entities';
import { createLogger } from '../lib/log';
import { setupTestContext, startTestApi, testAppDeps, type TestContext } from './harness';

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let collectionId: string;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  const c = await api.request('POST', '/v1/collections', {
    key: ctx.tenant.key,
    body: { name: 'security-input', embeddingModel: 'local-embed-64' },
  });
  expect(c.status).toBe(201);
  collectionId = c.body!.id;
});

/** Every refusal is a 4xx with the one error shape. */
function expectError(res: { status: number; body: Record<string, unknown> | null }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const error = (res.body as { error: { code: string; message: string } }).error;
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe('string');
  return error as { code: string; message: string; details?: { in: string; path: Array<string | number> } };
}

/** A multipart upload with a hand-written Content-Disposition (FormData cannot send filename*=). */
async function uploadRaw(disposition: string, content = 'hello', contentType?: string) {
  const boundary = 'securityinputboundary';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; ${disposition}\r\nContent-Type: text/plain\r\n\r\n`,
      'utf8',
    ),
    Buffer.from(content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await fetch(`${api.base}/v1/collections/${collectionId}/documents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ctx.tenant.key}`,
      'content-type': contentType ?? `multipart/form-data; boundary=${boundary}`,
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const documents = async () =>
  (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key })).body!
    .documents as Array<{ source: string; title: string }>;

describe('NUL characters and unpaired surrogates are refused with 400 invalid_characters, naming the field', () => {
  it('in a collection name and description', async () => {
    let error = expectError(
      await api.request('POST', '/v1/collections', { key: ctx.tenant.key, body: { name: 'a\u0000b' } }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'body', path: ['name'] });
    expect(error.message).toContain('name');
    error = expectError(
      await api.request('POST', '/v1/collections', {
        key: ctx.tenant.key,
        body: { name: 'ok', description: 'x\u0000' },
      }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'body', path: ['description'] });
    // An unpaired surrogate cannot be stored faithfully either (it would silently become U+FFFD).
    error = expectError(
      await api.request('POST', '/v1/collections', { key: ctx.tenant.key, rawBody: '{"name":"a\\ud800b"}' }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'body', path: ['name'] });
    // A well-formed pair is fine.
    const ok = await api.request('POST', '/v1/collections', {
      key: ctx.tenant.key,
      body: { name: 'emoji \u{1F600}', embeddingModel: 'local-embed-64' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body!.name).toBe('emoji \u{1F600}');
  });

  it('in a question', async () => {
    const error = expectError(
      await api.request('POST', '/v1/answers', {
        key: ctx.tenant.key,
        body: { question: 'why\u0000?', collectionIds: [collectionId] },
      }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'body', path: ['question'] });
  });

  it('in a conversation title and message', async () => {
    let error = expectError(
      await api.request('POST', '/v1/conversations', {
        key: ctx.tenant.key,
        body: { title: 't\u0000', collectionIds: [collectionId] },
      }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'body', path: ['title'] });
    const conversation = await api.request('POST', '/v1/conversations', {
      key: ctx.tenant.key,
      body: { title: 'fine', collectionIds: [collectionId] },
    });
    expect(conversation.status).toBe(201);
    error = expectError(
      await api.request('POST', `/v1/conversations/${conversation.body!.id}/messages`, {
        key: ctx.tenant.key,
        body: { content: 'm\u0000' },
      }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'body', path: ['content'] });
  });

  it('in a URL, an array element (the path names its index)', async () => {
    const error = expectError(
      await api.request('POST', `/v1/collections/${collectionId}/urls`, {
        key: ctx.tenant.key,
        body: { urls: ['http://example.com/ok', 'http://example.com/a\u0000b'] },
      }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'body', path: ['urls', 1] });
  });

  it('in an object key', async () => {
    const error = expectError(
      await api.request('POST', '/v1/collections', { key: ctx.tenant.key, rawBody: '{"name":"x","k\\u0000":1}' }),
      400,
      'invalid_characters',
    );
    expect(error.details?.in).toBe('body');
  });

  it('in the query string and in path parameters', async () => {
    let error = expectError(
      await api.request('GET', `/v1/answers?before=%00`, { key: ctx.tenant.key }),
      400,
      'invalid_characters',
    );
    expect(error.details).toEqual({ in: 'query', path: ['before'] });
    error = expectError(
      await api.request('GET', `/v1/ingests/${encodeURIComponent(`ingest:${ctx.tenant.id}:a\u0000b`)}`, {
        key: ctx.tenant.key,
      }),
      400,
      'invalid_characters',
    );
    expect(error.details?.in).toBe('path');
    error = expectError(
      await api.request('GET', `/v1/runs/${encodeURIComponent('a\u0000b')}`, { key: ctx.tenant.key }),
      400,
      'invalid_characters',
    );
    expect(error.details?.in).toBe('path');
  });

  it('in an upload filename (filename*=)', async () => {
    const error = expectError(await uploadRaw(`filename*=UTF-8''a%00b.txt`), 400, 'invalid_characters');
    expect(error.details).toEqual({ in: 'multipart', path: ['filename'] });
    expect((await documents()).some((d) => d.source.startsWith('a'))).toBe(false);
  });
});

describe('malformed requests', () => {
  it('answers 400 bad_multipart for multipart without a boundary', async () => {
    expectError(await uploadRaw('filename="x.txt"', 'hello', 'multipart/form-data'), 400, 'bad_multipart');
  });

  it('answers 400 invalid_page_token for a page token Temporal does not know', async () => {
    const garbage = Buffer.from('garbage, not a token').toString('base64url');
    const error = expectError(
      await api.request('GET', `/v1/runs?pageToken=${garbage}`, { key: ctx.tenant.key }),
      400,
      'invalid_page_token',
    );
    expect(error.message).toContain('pageToken');
  });

  it('answers 400 json_too_deep for a body nested 20,000 levels (and starts nothing)', async () => {
    const depth = 20_000;
    const schema = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const rawBody = `{"messages":[{"role":"user","content":"hi"}],"responseFormat":{"type":"json_schema","name":"deep","schema":${schema}}}`;
    const before = await ctx.client.workflow.count(
      `TaskQueue = '${ctx.config.temporal.taskQueue}' AND RunKind = 'llm'`,
    );
    const error = expectError(
      await api.request('POST', '/v1/llm/completions', { key: ctx.tenant.key, rawBody }),
      400,
      'json_too_deep',
    );
    expect(error.message).toContain('64');
    expect(
      (await ctx.client.workflow.count(`TaskQueue = '${ctx.config.temporal.taskQueue}' AND RunKind = 'llm'`)).count,
    ).toBe(before.count);
    // 64 levels still pass the guard (here they reach the schema check of the route).
    const ok = '{"a":'.repeat(60) + '1' + '}'.repeat(60);
    const res = await api.request('POST', '/v1/collections', { key: ctx.tenant.key, rawBody: `{"name":${ok}}` });
    expectError(res, 400, 'validation_failed');
  });
});

describe('the HTTP server answers parse errors with the error shape', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createApp(
      testAppDeps({ config: ctx.config, orm: ctx.orm, temporal: ctx.client, log: createLogger('silent', 't') }),
    ).listen(0, '127.0.0.1');
    answerClientErrors(server);
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('answers 431 header_too_large for a 64 KB header', async () => {
    const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/healthz', headers: { 'x-big': 'a'.repeat(64 * 1024) } },
        (r) => {
          let body = '';
          r.on('data', (b: Buffer) => (body += b.toString()));
          r.on('end', () => resolve({ status: r.statusCode!, type: r.headers['content-type'] ?? '', body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(431);
    expect(res.type).toContain('application/json');
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('header_too_large');
    expect(body.error.message).toMatch(/header/i);
  });

  it('answers 400 bad_request for a request line that is not HTTP', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let out = '';
      socket.on('data', (b: Buffer) => (out += b.toString()));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(body.error.code).toBe('bad_request');
  });
});

describe('URLs with credentials', () => {
  it('are refused with 400 url_credentials_not_allowed, the secret not echoed, nothing stored', async () => {
    for (const url of ['http://user:hunter2@example.com/doc', 'https://token-only-hunter2@example.com/doc']) {
      const res = await api.request('POST', `/v1/collections/${collectionId}/urls`, {
        key: ctx.tenant.key,
        body: { urls: ['http://example.com/fine', url] },
      });
      const error = expectError(res, 400, 'url_credentials_not_allowed');
      expect(JSON.stringify(res.body)).not.toContain('hunter2');
      expect(error.details).toEqual({ path: ['urls', 1] });
    }
    expect(
      (await documents()).filter((d) => d.source.includes('hunter2') || d.source === 'http://example.com/fine'),
    ).toEqual([]);
  });
});

describe('non-ASCII upload filenames', () => {
  it('are stored as sent, raw UTF-8 or RFC 5987 filename*=', async () => {
    const raw = await uploadRaw('filename="ü-unicode.txt"');
    expect(raw.status, JSON.stringify(raw.body)).toBe(202);
    expect(raw.body!.documents.map((d: { source: string }) => d.source)).toEqual(['ü-unicode.txt']);
    const extended = await uploadRaw(`filename*=UTF-8''%C3%BC-extended.txt`);
    expect(extended.status, JSON.stringify(extended.body)).toBe(202);
    expect(extended.body!.documents.map((d: { title: string }) => d.title)).toEqual(['ü-extended.txt']);
    // FormData (what browsers and the CLI send) too.
    const form = new FormData();
    form.append('file', new Blob(['x']), 'ü-form.txt');
    const res = await fetch(`${api.base}/v1/collections/${collectionId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.tenant.key}` },
      body: form,
    });
    expect(res.status).toBe(202);
    const listed = (await documents()).map((d) => d.source);
    expect(listed).toEqual(expect.arrayContaining(['ü-unicode.txt', 'ü-extended.txt', 'ü-form.txt']));
    expect(listed.some((s) => s.includes('Ã'))).toBe(false);
  });
});

describe('database errors in logs', () => {
  it('name the error code and constraint, never the SQL with its values', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('info', 'db-log-test', sink);
    const conn = ctx.orm.em.getConnection();
    const raw = await conn
      .execute(`select * from collections where id = ?`, ['not-a-uuid-SECRET-1'])
      .catch((e: unknown) => e);
    const em = ctx.orm.em.fork();
    em.create(CollectionEntity, {
      id: collectionId,
      tenantId: ctx.tenant.id,
      name: 'SECRET-2',
      embeddingModel: 'm',
      embeddingDim: 1,
      embeddingType: 'vector',
      chunkSize: 400,
      chunkOverlap: 0,
      combineSections: true,
    });
    const flushed = await em.flush().catch((e: unknown) => e);
    for (const err of [raw, flushed, new Error('outer', { cause: raw })]) {
      expect(err).toBeInstanceOf(Error);
      log.error({ err }, 'request failed');
    }
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toMatch(/SECRET|select \*|insert into|values \(/i);
    expect(lines[0]).toContain('22P02'); // invalid_text_representation
    expect(lines[1]).toContain('23505');
    expect(lines[1]).toContain('collections_pkey');
    expect(lines[2]).toContain('outer');
    expect(lines[2]).toContain('22P02');
  });
});
