import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { setupTestContext, type TestContext } from './harness';

let ctx: TestContext;

afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
});

async function probe(
  url: string,
): Promise<
  { status: number; body: { status: string; workers: Array<{ taskQueue: string; state: string }> } } | 'refused'
> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as never };
  } catch {
    return 'refused';
  }
}

it('the worker process serves /readyz once both task queues poll, and stops being ready when it shuts down', async () => {
  const worker = await ctx.startWorkerProcess({ env: { WORKER_HEALTH_PORT: '0', WORKER_HEALTH_HOST: '127.0.0.1' } });
  const port = Number(/"healthPort":(\d+)/.exec(worker.startOutput)?.[1]); // the port the OS gave it, as logged
  expect(port).toBeGreaterThan(0);
  const exited = once(worker, 'exit');
  const base = `http://127.0.0.1:${port}`;
  const queue = ctx.config.temporal.taskQueue;

  let ready = await probe(`${base}/readyz`);
  for (let i = 0; i < 100 && (ready === 'refused' || ready.status !== 200); i++) {
    await sleep(100);
    ready = await probe(`${base}/readyz`);
  }
  expect(ready).toEqual({
    status: 200,
    body: {
      status: 'ok',
      workers: [
        { taskQueue: queue, state: 'RUNNING' },
        { taskQueue: `${queue}-tools`, state: 'RUNNING' },
      ],
    },
  });
  expect(await probe(`${base}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });

  // SIGTERM: the workers drain; readiness drops (503, or the server already closed), and the process exits cleanly.
  worker.kill('SIGTERM');
  let after = await probe(`${base}/readyz`);
  for (let i = 0; i < 100 && after !== 'refused' && after.status === 200; i++) {
    await sleep(50);
    after = await probe(`${base}/readyz`);
  }
  expect(after === 'refused' || after.status === 503).toBe(true);
  const [code] = await exited;
  expect(code).toBe(0);
  expect(await probe(`${base}/healthz`)).toBe('refused');
});
