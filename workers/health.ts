import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';

export interface HealthSource {
  /** Each worker's task queue and SDK state (`Worker.getState()`). */
  workers(): Array<{ taskQueue: string; state: State }>;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The worker process's probes, for Kubernetes and load balancers; the worker has no other HTTP surface.
 *
 * - `GET /healthz` (liveness): 200 while no worker has FAILED. A failed worker makes the process exit anyway; this
 *   catches the window before it does.
 * - `GET /readyz` (readiness): 200 once every worker is RUNNING (polling its task queue), 503 before that and from
 *   the moment shutdown begins (STOPPING, DRAINING, ...), so a rollout waits until the new pod polls, and a pod that
 *   drains says so.
 *
 * Both answer JSON `{ status, workers: [{ taskQueue, state }] }`; anything else is 404, a method other than GET or
 * HEAD 405.
 */
export async function startHealthServer(
  source: HealthSource,
  opts: { port: number; host: string },
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (path !== '/healthz' && path !== '/readyz')
      return send(404, { error: { code: 'not_found', message: 'Only /healthz and /readyz are served here.' } });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, { error: { code: 'method_not_allowed', message: 'Use GET.' } });
    }
    const workers = source.workers();
    const ok =
      path === '/healthz'
        ? workers.every((w) => w.state !== 'FAILED')
        : workers.length > 0 && workers.every((w) => w.state === 'RUNNING');
    send(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', workers });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
