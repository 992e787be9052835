import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import Koa from 'koa';
import { ServiceError } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrm, type Orm } from '../lib/db/orm';
import { freePort } from '../lib/process/ports';
import { createLogger } from '../lib/log';
import { errorHandler, unavailableDependency } from './errors';

/** The error a query raises through the real ORM when its database is `url`. */
async function queryError(url: string): Promise<unknown> {
  let orm: Orm | undefined;
  try {
    orm = await createOrm(url, 1);
    await orm.em.fork().getConnection().execute('select 1');
  } catch (e) {
    return e;
  } finally {
    await orm?.close().catch(() => {});
  }
  throw new Error('the query did not fail');
}

const servers: Array<{ close: () => void }> = [];
afterAll(() => servers.forEach((s) => s.close()));

describe('unavailableDependency', () => {
  it('says database for a refused connection, and for one the server drops mid-query', async () => {
    expect(unavailableDependency(await queryError(`postgres://u@127.0.0.1:${await freePort()}/db`))).toBe('database');

    // A "database" that accepts and hangs up at once: node-postgres reports the connection terminated.
    const dropper = createServer((s) => s.destroy());
    dropper.listen(0, '127.0.0.1');
    await once(dropper, 'listening');
    servers.push(dropper);
    const port = (dropper.address() as AddressInfo).port;
    expect(unavailableDependency(await queryError(`postgres://u@127.0.0.1:${port}/db`))).toBe('database');
  });

  it('says temporal for a gRPC UNAVAILABLE or DEADLINE_EXCEEDED from the client', () => {
    const grpc = (code: number) => Object.assign(new Error(`${code} grpc`), { code, details: '', metadata: {} });
    expect(unavailableDependency(new ServiceError('describe failed', { cause: grpc(14) }))).toBe('temporal');
    expect(unavailableDependency(new ServiceError('start failed', { cause: grpc(4) }))).toBe('temporal');
    expect(unavailableDependency(new ServiceError('not found', { cause: grpc(5) }))).toBeNull();
  });

  it('leaves other errors alone: an outbound call refused elsewhere, a bug', async () => {
    const refused = await fetch(`http://127.0.0.1:${await freePort()}/`).catch((e: unknown) => e);
    expect((refused as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(unavailableDependency(refused)).toBeNull();
    expect(unavailableDependency(new TypeError('x is undefined'))).toBeNull();
    expect(unavailableDependency(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeNull();
  });
});

describe('errorHandler', () => {
  it('answers a request whose database is out of reach with 503, the standard shape and Retry-After', async () => {
    const dbError = await queryError(`postgres://u@127.0.0.1:${await freePort()}/db`);
    const app = new Koa();
    app.use(errorHandler(createLogger('silent', 'api'), '1mb'));
    app.use((ctx) => {
      if (ctx.path === '/db') throw dbError;
      throw new Error('a bug');
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const res = await fetch(`${base}/db`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toEqual({
      error: { code: 'unavailable', message: 'The database cannot be reached right now; retry shortly.' },
    });
    const bug = await fetch(`${base}/other`);
    expect(bug.status).toBe(500);
    expect(((await bug.json()) as { error: { code: string } }).error.code).toBe('internal');
  });
});
