import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isAlive } from '../lib/process/pidfile';
import { adminKeyFrom, prepareStack, type Stack } from './stack';

/** `npm start` as a new user runs it: the launcher, its children, restarts and failures. */
let stack: Stack;
let env: NodeJS.ProcessEnv;
let launch: Stack['launch'];
let untilUp: Stack['untilUp'];

afterAll(() => stack?.stopAll());
beforeAll(async () => {
  stack = await prepareStack();
  ({ env } = stack);
  launch = stack.launch;
  untilUp = stack.untilUp;
});

/** Pids of the launcher's children (worker, API, Temporal). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function gone(pids: number[], ms: number) {
  const deadline = Date.now() + ms;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  return pids.filter(isAlive);
}

const get = async (path: string, key?: string) => {
  const res = await fetch(stack.apiUrl + path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('npm start', () => {
  let key: string;
  let workflowId: string;

  it('starts Temporal, Postgres, the worker and the API, and prints the admin key once', async () => {
    const l = launch();
    await untilUp(l);
    key = adminKeyFrom(l.output())!;
    expect((await get('/readyz')).status).toBe(200);
    expect(l.output()).toMatch(/\[start\] {3}Temporal {5}127\.0\.0\.1:[1-9]\d* /);

    const res = await fetch(`${stack.apiUrl}/v1/system/self-test?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ probes: 2 }),
    });
    workflowId = ((await res.json()) as { workflowId: string }).workflowId;
    expect(res.status).toBe(200);

    const { stdout } = await promisify(execFile)(inject('temporalCliPath'), [
      'workflow',
      'list',
      '--address',
      stack.temporalAddress,
    ]);
    expect(stdout).toContain(workflowId);

    const kids = childrenOf(l.child.pid!);
    // The worker, the API and the Temporal server (tsx may add its esbuild helper beside them).
    const roles = kids.map(commandOf);
    for (const role of ['workers/main.ts', 'api/server.ts', 'temporal server start-dev']) {
      expect(
        roles.filter((c) => c.includes(role)),
        role,
      ).toHaveLength(1);
    }
    l.child.kill('SIGTERM');
    expect(await l.exited).toBe(0);
    expect(await gone(kids, 5_000)).toEqual([]);
  });

  it('finds its data again on the next start, without printing a new key', async () => {
    const l = launch();
    await untilUp(l);
    expect(l.output()).not.toContain('Admin API key');
    expect((await get('/v1/system/me', key)).status).toBe(200);
    const run = await get(`/v1/system/self-test/${encodeURIComponent(workflowId)}`, key);
    expect(run.body.status).toBe('completed');

    // kill -9 of the launcher: the worker and API notice and exit; the Temporal server is left behind...
    const kids = childrenOf(l.child.pid!);
    const temporalPid = JSON.parse(await readFile(join(env.BC_DATA_DIR!, 'run', 'temporal.pid'), 'utf8')).pid as number;
    l.child.kill('SIGKILL');
    await l.exited;
    expect(
      await gone(
        kids.filter((p) => p !== temporalPid),
        20_000,
      ),
    ).toEqual([]);
    expect(isAlive(temporalPid)).toBe(true);

    // ...and the next start ends it (its data folder and locks are free again) and comes up.
    const again = launch();
    await untilUp(again);
    expect(again.output()).toContain(`ending process ${temporalPid} left behind`);
    expect(isAlive(temporalPid)).toBe(false);
    expect((await get('/readyz')).status).toBe(200);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  /** Every process below `pid`, by walking /proc. */
  function descendantsOf(pid: number): number[] {
    const kids = childrenOf(pid);
    return [...kids, ...kids.flatMap(descendantsOf)];
  }

  it.each(['npm', 'bin'] as const)('SIGTERM to the launcher started by %s stops the whole stack', async (via) => {
    const l = launch({}, via);
    await untilUp(l);
    const all = descendantsOf(l.child.pid!);
    expect(all.map(commandOf).filter((c) => c.includes('temporal server start-dev'))).toHaveLength(1);
    l.child.kill('SIGTERM'); // for npm: npm exits at once and passes nothing on; the launcher notices
    await l.exited;
    expect(await gone(all, 30_000)).toEqual([]);
  });

  it('fails fast with one clear line when DATABASE_URL cannot be reached', async () => {
    const started = Date.now();
    const l = launch({ DATABASE_URL: 'postgres://nope' });
    expect(await l.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const errors = l
      .output()
      .split('\n')
      .filter((line) => line.includes('error'));
    expect(errors).toEqual([
      expect.stringMatching(/^\[start\] error: cannot connect to DATABASE_URL postgres:\/\/nope.*: .+/),
    ]);
  });

  it('refuses a bad setting with one line naming it', async () => {
    const l = launch({ API_PORT: 'eighty' });
    expect(await l.exited).toBe(1);
    expect(l.output().trim().split('\n').at(-1)).toBe(
      '[start] error: config: API_PORT must be a port number from 0 to 65535 (0: any free port) (got "eighty")',
    );
  });
});
