import type { State } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer } from './health';

const states: State[] = ['INITIALIZED', 'INITIALIZED'];
let server: HealthServer | undefined;
afterAll(() => server?.close());

const get = async (path: string, method = 'GET') => {
  const res = await fetch(`http://127.0.0.1:${server!.port}${path}`, { method });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as { status?: string; workers?: unknown; error?: { code: string } }) : null,
    allow: res.headers.get('allow'),
  };
};

describe('worker health server', () => {
  it('is ready only while every worker runs, and live until one fails', async () => {
    server = await startHealthServer(
      { workers: () => states.map((state, i) => ({ taskQueue: ['q', 'q-tools'][i]!, state })) },
      { port: 0, host: '127.0.0.1' },
    );
    expect(server.port).toBeGreaterThan(0);

    // Created, not yet polling.
    expect(await get('/readyz')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    expect((await get('/healthz')).status).toBe(200);

    states.fill('RUNNING');
    expect(await get('/readyz')).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        workers: [
          { taskQueue: 'q', state: 'RUNNING' },
          { taskQueue: 'q-tools', state: 'RUNNING' },
        ],
      },
    });

    // One queue drains (shutdown began): not ready, still alive.
    states[1] = 'DRAINING';
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/healthz')).status).toBe(200);

    states[0] = 'FAILED';
    expect(await get('/healthz')).toMatchObject({
      status: 503,
      body: {
        status: 'unavailable',
        workers: [
          { taskQueue: 'q', state: 'FAILED' },
          { taskQueue: 'q-tools', state: 'DRAINING' },
        ],
      },
    });
  });

  it('answers HEAD without a body, and refuses other paths and methods', async () => {
    states.fill('RUNNING');
    expect(await get('/readyz?probe=1', 'HEAD')).toMatchObject({ status: 200, body: null });
    expect(await get('/metrics')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await get('/readyz', 'POST')).toMatchObject({
      status: 405,
      allow: 'GET, HEAD',
      body: { error: { code: 'method_not_allowed' } },
    });
  });

  it('says when its port is taken', async () => {
    await expect(startHealthServer({ workers: () => [] }, { port: server!.port, host: '127.0.0.1' })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});
