import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, configureRequest, request } from './request';
import { getRun } from './runs';

const onUnauthorized = vi.fn();
const fetchMock = vi.fn<typeof fetch>();

function respond(status: number, body: unknown, statusText = '') {
  fetchMock.mockResolvedValueOnce(
    new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, statusText }),
  );
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  configureRequest({ getApiKey: () => 'bc_session', onUnauthorized });
});
afterEach(() => {
  vi.unstubAllGlobals();
  fetchMock.mockReset();
  onUnauthorized.mockReset();
});

describe('request', () => {
  it('sends the bearer key and drops empty query values', async () => {
    respond(200, { ok: true });
    await expect(
      request('/v1/runs', { query: { kind: 'system', q: '', pageToken: null, pageSize: 50 } }),
    ).resolves.toEqual({ ok: true });
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/v1/runs?kind=system&pageSize=50');
    expect((init?.headers as Record<string, string>).authorization).toBe('Bearer bc_session');
  });

  it('maps the API error shape', async () => {
    respond(403, {
      error: {
        code: 'forbidden',
        message: 'This needs one of the roles admin, operator.',
        details: { role: 'viewer' },
      },
    });
    const err = await failure(request('/v1/system/self-test', { method: 'POST', body: {} }));
    expect(err).toMatchObject({
      status: 403,
      code: 'forbidden',
      message: 'This needs one of the roles admin, operator.',
      details: { role: 'viewer' },
    });
  });

  it('maps a response that is not the error shape by its status', async () => {
    respond(502, '<html>bad gateway</html>', 'Bad Gateway');
    expect(await failure(request('/v1/runs'))).toMatchObject({
      status: 502,
      code: 'http_502',
      message: 'The server answered 502 Bad Gateway.',
    });
  });

  it('maps network failures to network_error', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    const err = await failure(request('/v1/runs'));
    expect(err.code).toBe('network_error');
    expect(err.message).toMatch(/Cannot reach/);
  });

  it('signs out on a 401 with the session key, not while a candidate key is checked', async () => {
    respond(401, { error: { code: 'unauthorized', message: 'The API key is invalid or revoked.' } });
    expect((await failure(request('/v1/system/me', { apiKey: 'bc_candidate' }))).message).toBe(
      'The API key is invalid or revoked.',
    );
    expect(onUnauthorized).not.toHaveBeenCalled();
    respond(401, { error: { code: 'unauthorized', message: 'The API key is invalid or revoked.' } });
    await failure(request('/v1/runs'));
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('on a cookie session, sends the CSRF cookie as a header on writes only, and signs out on a 401', async () => {
    configureRequest({ getApiKey: () => null, onUnauthorized });
    vi.stubGlobal('document', { cookie: 'other=1; bc_csrf=tok_123; x=y' });
    respond(200, {});
    await request('/v1/runs');
    respond(201, {});
    await request('/v1/keys', { method: 'POST', body: { name: 'k' } });
    const [readInit, writeInit] = fetchMock.mock.calls.map((c) => c[1]!.headers as Record<string, string>);
    expect(readInit!['x-csrf-token']).toBeUndefined();
    expect(readInit!.authorization).toBeUndefined();
    expect(writeInit!['x-csrf-token']).toBe('tok_123');
    expect(fetchMock.mock.calls[1]![1]!.credentials).toBe('same-origin');

    respond(401, { error: { code: 'unauthorized', message: 'The session has expired or was revoked.' } });
    await failure(request('/v1/runs'));
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('sends a sign-in call without the key, and its 401 does not sign out', async () => {
    respond(401, { error: { code: 'invalid_credentials', message: 'The email or password is wrong.' } });
    const err = await failure(request('/v1/auth/login', { method: 'POST', body: {}, anonymous: true }));
    expect(err.code).toBe('invalid_credentials');
    expect((fetchMock.mock.calls[0]![1]!.headers as Record<string, string>).authorization).toBeUndefined();
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('sends no CSRF header with a bearer key, which needs none', async () => {
    vi.stubGlobal('document', { cookie: 'bc_csrf=tok_123' });
    respond(201, {});
    await request('/v1/keys', { method: 'POST', body: {} });
    const headers = fetchMock.mock.calls[0]![1]!.headers as Record<string, string>;
    expect(headers.authorization).toBe('Bearer bc_session');
    expect(headers['x-csrf-token']).toBeUndefined();
  });

  it('reports a caller abort as aborted', async () => {
    const controller = new AbortController();
    fetchMock.mockImplementationOnce(
      (_url, init) =>
        new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
    );
    const pending = request('/v1/runs', { signal: controller.signal });
    controller.abort();
    expect((await failure(pending)).code).toBe('aborted');
  });
});

it('encodes the workflow id as one path segment', async () => {
  respond(200, {});
  await getRun('selftest:t1:x/y');
  expect(fetchMock.mock.calls[0]![0]).toBe('/v1/runs/selftest%3At1%3Ax%2Fy');
});
