/**
 * bench/eval's question set scored the way a user scores a setup: as a dataset that an eval run answers through the
 * running platform. `npm start` (scripts/start.ts, as a user runs it: embedded Temporal, a worker, the API) is
 * launched against the bench's own Postgres, so the eval run answers from the very chunks the in-process rows
 * measure; each half of the question set becomes a dataset (`POST /v1/datasets`), an eval run answers it
 * (`POST /v1/evals`: every item a real, gated answer run with its trace) and the printed numbers are read back from
 * `GET /v1/evals/:id` and `GET /v1/evals/:id/items`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DatasetItem, EvalAggregate, EvalItemMetrics } from '../../lib/contracts/evals';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Platform {
  apiUrl: string;
  stop(): Promise<void>;
}

/** Launches `npm start`'s launcher on free ports against `databaseUrl`; resolves once it prints its addresses. */
export async function startPlatform(databaseUrl: string, timeoutMs = 300_000): Promise<Platform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-eval-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    BC_DATA_DIR: dataDir,
    API_PORT: '0',
    TEMPORAL_DEV_PORT: '0',
    TEMPORAL_UI_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  delete env.TEMPORAL_ADDRESS;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000).then(() => child.kill('SIGKILL'))]);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!out.includes('Ctrl-C stops everything.')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not come up:\n${out}`);
    }
    await sleep(200);
  }
  const apiUrl = /\[start\] {3}Console {6}(http:\/\/\S+?)\/\s/.exec(out)?.[1];
  if (!apiUrl) {
    await stop();
    throw new Error(`npm start did not print its address:\n${out}`);
  }
  return { apiUrl, stop };
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

/** A JSON call with the tenant's key; a non-2xx status throws with the API's error. */
export async function call(platform: Platform, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${platform.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Json;
}

export interface EvalOutcome {
  evalRunId: string;
  workflowId: string;
  datasetId: string;
  status: string;
  aggregate: EvalAggregate;
  items: Array<{ itemId: string; status: string; metrics: EvalItemMetrics | null; answerStatus: string | null }>;
  wallMs: number;
}

/**
 * One half of the question set as a dataset, answered by an eval run with the tenant's defaults (the offline
 * default: local-extractive, the collection's embedder, the grounding gate); returns what the API reports.
 */
export async function evalThroughApi(
  platform: Platform,
  key: string,
  opts: { name: string; items: DatasetItem[]; collectionId: string; topK: number; concurrency: number },
  progress: (line: string) => void,
): Promise<EvalOutcome> {
  const dataset = await call(platform, key, 'POST', '/v1/datasets', {
    name: opts.name,
    description: 'bench/eval/data/cmake/questions.json',
    items: opts.items,
  });
  const started = performance.now();
  const run = await call(platform, key, 'POST', '/v1/evals', {
    name: opts.name,
    datasetId: dataset.id,
    config: { collectionIds: [opts.collectionId], topK: opts.topK },
    concurrency: opts.concurrency,
  });
  let view: Json;
  let last = 0;
  for (;;) {
    view = await call(platform, key, 'GET', `/v1/evals/${run.id}`);
    if (view.status !== 'running') break;
    if (Date.now() - last > 15_000) {
      last = Date.now();
      const p = view.progress ?? {};
      progress(
        `eval run ${opts.name}: ${(p.completed ?? 0) + (p.failed ?? 0)}/${opts.items.length} items, ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
    }
    await sleep(1000);
  }
  const wallMs = performance.now() - started;
  const items: EvalOutcome['items'] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await call(platform, key, 'GET', `/v1/evals/${run.id}/items?offset=${offset}&limit=500`);
    items.push(...(page.items as EvalOutcome['items']));
    if (page.items.length < 500) break;
  }
  return {
    evalRunId: run.id,
    workflowId: view.workflowId,
    datasetId: dataset.id,
    status: view.status,
    aggregate: view.aggregate,
    items,
    wallMs,
  };
}
