/**
 * bench/eval's question set scored the way a user scores a setup: as a dataset that an eval run answers through the
 * running platform. `npm start` (scripts/start.ts, as a user runs it: embedded Temporal, a worker, the API) is
 * launched against the bench's own Postgres, so the eval run answers from the very chunks the in-process rows
 * measure; each half of the question set becomes a dataset (`POST /v1/datasets`), an eval run answers it
 * (`POST /v1/evals`: every item a real, gated answer run with its trace) and the printed numbers are read back from
 * `GET /v1/evals/:id` and `GET /v1/evals/:id/items`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatasetItem, EvalAggregate, EvalConfig, EvalItemMetrics } from '../../lib/contracts/evals';
import { launchStack, stackCall } from '../lib/stack';

export interface Platform {
  apiUrl: string;
  temporalAddress: string | null;
  stop(): Promise<void>;
}

/** `npm start`'s launcher on free ports and a data folder of its own, against `databaseUrl`. */
export async function startPlatform(databaseUrl: string): Promise<Platform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-eval-'));
  const stack = await launchStack({ DATABASE_URL: databaseUrl, BC_DATA_DIR: dataDir }).catch(async (err: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    apiUrl: stack.apiUrl,
    temporalAddress: stack.temporalAddress,
    async stop() {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

const call = (platform: Platform, key: string, method: string, path: string, body?: unknown) =>
  stackCall<Json>(platform.apiUrl, key, method, path, body);

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
 * Items as a new dataset, scored by an eval run with `config` (the tenant's defaults for what it leaves out: the
 * offline default); returns what the API reports.
 */
export async function evalThroughApi(
  platform: Platform,
  key: string,
  opts: { name: string; source: string; items: DatasetItem[]; config: EvalConfig; concurrency: number },
  progress: (line: string) => void,
): Promise<EvalOutcome> {
  const dataset = await call(platform, key, 'POST', '/v1/datasets', {
    name: opts.name,
    description: opts.source,
    items: opts.items,
  });
  const started = performance.now();
  const run = await call(platform, key, 'POST', '/v1/evals', {
    name: opts.name,
    datasetId: dataset.id,
    config: opts.config,
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
