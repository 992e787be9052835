import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isAlive } from '../lib/process/pidfile';
import { freePort } from '../lib/process/ports';

/** `npm start` as a new user runs it: the launcher, its children, restarts and failures. */
const root = fileURLToPath(new URL('..', import.meta.url));
const launchers: ChildProcess[] = [];
let env: NodeJS.ProcessEnv;
let apiUrl: string;
let temporalAddress: string;

beforeAll(async () => {
  const [api, temporal, ui, pglite] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  apiUrl = `http://127.0.0.1:${api}`;
  temporalAddress = `127.0.0.1:${temporal}`;
  env = {
    ...process.env,
    BC_DATA_DIR: await mkdtemp(join(inject('tmpDir'), 'start-')),
    API_PORT: String(api),
    TEMPORAL_DEV_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(ui),
    PGLITE_PORT: String(pglite),
    TEMPORAL_CLI_PATH: inject('temporalCliPath'),
    WORKER_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    LOG_LEVEL: 'warn',
  };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
});
afterAll(() => {
  for (const l of launchers) if (l.exitCode === null && l.signalCode === null) l.kill('SIGTERM');
});

interface Launch {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function launch(extraEnv: NodeJS.ProcessEnv = {}): Launch {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launchers.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return { child, output: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function untilUp(l: Launch) {
  const deadline = Date.now() + 120_000;
  while (!l.output().includes('Ctrl-C stops everything.')) {
    if (l.child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${l.output()}`);
    await sleep(100);
  }
}

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

async function gone(pids: number[], ms: number) {
  const deadline = Date.now() + ms;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  return pids.filter(isAlive);
}

const get = async (path: string, key?: string) => {
  const res = await fetch(apiUrl + path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('npm start', () => {
  let key: string;
  let workflowId: string;

  it('starts Temporal, Postgres, the worker and the API, and prints the admin key once', async () => {
    const l = launch();
    await untilUp(l);
    key = /Admin API key \(shown once, only its hash is stored\): (bc_\S+)/.exec(l.output())![1]!;
    expect((await get('/readyz')).status).toBe(200);
    expect(l.output()).toContain(`Temporal     ${temporalAddress}`);

    const res = await fetch(`${apiUrl}/v1/system/self-test?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ probes: 2 }),
    });
    workflowId = ((await res.json()) as { workflowId: string }).workflowId;
    expect(res.status).toBe(200);

    const { stdout } = await promisify(execFile)(inject('temporalCliPath'), ['workflow', 'list', '--address', temporalAddress]);
    expect(stdout).toContain(workflowId);

    const kids = childrenOf(l.child.pid!);
    expect(kids.length).toBe(3);
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
    expect(await gone(kids.filter((p) => p !== temporalPid), 20_000)).toEqual([]);
    expect(isAlive(temporalPid)).toBe(true);

    // ...and the next start ends it and comes up on the same ports.
    const again = launch();
    await untilUp(again);
    expect(again.output()).toContain(`ending process ${temporalPid} left behind`);
    expect(isAlive(temporalPid)).toBe(false);
    expect((await get('/readyz')).status).toBe(200);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('fails fast with one clear line when DATABASE_URL cannot be reached', async () => {
    const started = Date.now();
    const l = launch({ DATABASE_URL: 'postgres://nope' });
    expect(await l.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const errors = l.output().split('\n').filter((line) => line.includes('error'));
    expect(errors).toEqual([expect.stringMatching(/^\[start\] error: cannot connect to DATABASE_URL postgres:\/\/nope.*: .+/)]);
  });

  it('refuses a bad setting with one line naming it', async () => {
    const l = launch({ API_PORT: 'eighty' });
    expect(await l.exited).toBe(1);
    expect(l.output().trim().split('\n').at(-1)).toBe('[start] error: config: API_PORT must be a port number from 1 to 65535 (got "eighty")');
  });
});
