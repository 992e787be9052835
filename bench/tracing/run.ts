/**
 * Tracing overhead: workflow latency with the Postgres span exporter on vs off, measured in the same run.
 *
 *   npx tsx bench/tracing/run.ts                       # P=5 probes per run, 30 repetitions, 3 warm-up runs per mode
 *   BENCH_PROBES=10 BENCH_REPEAT=50 npx tsx bench/tracing/run.ts
 *
 * Starts its own Temporal dev server (in memory, free port, headless) and its own embedded Postgres (PGlite, in
 * memory, free port, migrated), creates a tenant, and spawns two real worker processes (`workers/main.ts`, as
 * `npm start` runs it) on two task queues of their own, from one prebuilt workflow bundle:
 *   traced    TRACING=true:  the OTel SDK is registered, spans go to the `spans` table through PostgresSpanStore
 *   untraced  TRACING=false: no span processor, so the SDK registers nothing and the global tracer is a no-op
 * In both, the workflow-side interceptor is part of the same bundle; without a processor its sink drops the spans.
 *
 * This process is the client. It starts the SDK with the Postgres span store too (service `bench`) and uses
 * `createClient`, whose interceptor opens the `StartWorkflow` span and sends its context to the worker. For the
 * untraced runs that is switched off with `suppressTracing`, so the client behaves as a process without tracing (no
 * recorded span, no trace header); the traced runs pay the client-side cost as well.
 *
 * Each run is `selfTest` with P probes (P sequential activities, each writing one row), timed from `execute` until
 * its result arrives. Modes alternate within each repetition (the first mode alternates too) with a pause between
 * runs, so the traced worker's background span writes (every 500 ms) land between runs rather than in the next run.
 * (PGlite runs inside this process, so those writes would otherwise also compete with the client for its CPU.)
 * Reported: median, p95 and the paired difference per mode, spans written per run (counted in `spans` at the end),
 * each worker process's CPU time per timed run and its memory (RSS and peak RSS at the end, from /proc). Prints a
 * table and, last, one line `RESULT {json}`. Exits 0 on success and non-zero on any failure; a watchdog
 * (BENCH_TIMEOUT_S, default 300 s plus 10 s per run) bounds the run, and the workers, Postgres and the Temporal server
 * are stopped on every path, including Ctrl-C.
 *
 * Knobs: BENCH_PROBES 1..50 (5), BENCH_REPEAT 1..500 (30), BENCH_WARMUP 1..20 (3), BENCH_GAP_MS 0..10000 (1000).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { Connection, type Client } from '@temporalio/client';
import { createTenantWithKey } from '../../api/auth/api-keys';
import { configSchema, loadConfig } from '../../lib/config';
import { SEARCH_ATTRIBUTES, workflowIds, type SelfTestInput, type SelfTestResult } from '../../lib/contracts';
import { startEmbeddedPostgres } from '../../lib/db/embedded';
import { createOrm, migrate, type Orm } from '../../lib/db/orm';
import { acquireTemporalCli, TEMPORAL_CLI_VERSION } from '../../lib/temporal/cli';
import { createClient } from '../../lib/temporal/client';
import { startDevServer, type DevServer } from '../../lib/temporal/dev-server';
import { startTelemetry } from '../../lib/telemetry';
import { buildWorkflowBundle } from '../../workers/bundle';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { printTable } from '../lib/table';
import { intFromEnv, machineFacts, median } from '../lib/env';

const root = fileURLToPath(new URL('../..', import.meta.url));
const NAMESPACE = 'default';
const MODES = ['untraced', 'traced'] as const;
type Mode = (typeof MODES)[number];

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
/** Nearest-rank percentile (p95 of 30 samples is the 29th smallest). */
const percentile = (xs: number[], p: number) => {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** A small seeded PRNG, so the bootstrap interval is the same for the same samples. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 95% percentile-bootstrap interval of the median of xs. */
function bootstrapMedianCi(xs: number[], resamples = 2000): [number, number] {
  const rand = mulberry32(20261125);
  const medians: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const sample = xs.map(() => xs[Math.floor(rand() * xs.length)]!);
    medians.push(median(sample));
  }
  return [percentile(medians, 2.5), percentile(medians, 97.5)];
}

/** p, or a rejection with message() after ms; the timer is cleared either way. */
async function withTimeout<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker processes

interface WorkerProcess {
  mode: Mode;
  taskQueue: string;
  child: ChildProcess;
  /** The last few KB of its stdout and stderr, for error messages. */
  recentOutput(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** The real worker process, `node --import tsx workers/main.ts`, on a task queue of its own. */
async function startWorkerProcess(opts: {
  mode: Mode;
  taskQueue: string;
  temporalAddress: string;
  databaseUrl: string;
  workflowBundle: string;
  bounded: <T>(p: Promise<T>) => Promise<T>;
  onSpawn: (w: WorkerProcess) => void;
}): Promise<WorkerProcess> {
  // Nothing of the caller's BeyondCloud configuration leaks in (an OTLP endpoint, TLS to Temporal, ...): only ours.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(configSchema.shape)) delete env[key];
  Object.assign(env, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    DATABASE_URL: opts.databaseUrl,
    WORKER_WORKFLOW_BUNDLE: opts.workflowBundle,
    TRACING: opts.mode === 'traced' ? 'true' : 'false',
  });
  // The IPC channel makes the worker stop by itself if this process dies without cleaning up (workers/main.ts).
  // Its own process group keeps a terminal's Ctrl-C away from it: it is stopped once, by our SIGTERM, in order.
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  let recent = '';
  let stdout = '';
  let seenStarted = false;
  let exitCode: number | string | null | undefined;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal;
      resolve();
    }),
  );
  let started!: () => void;
  let failed!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => ((started = resolve), (failed = reject)));
  ready.catch(() => {});
  // Both pipes are always drained: a full pipe would block the worker mid-benchmark.
  child.stdout!.on('data', (b: Buffer) => {
    recent = (recent + b.toString()).slice(-4000);
    if (!seenStarted) {
      stdout += b.toString();
      if (stdout.includes('worker started')) {
        seenStarted = true;
        stdout = '';
        started();
      }
    }
  });
  child.stderr!.on('data', (b: Buffer) => (recent = (recent + b.toString()).slice(-4000)));
  void exitedPromise.then(() =>
    failed(new Error(`${opts.mode} worker exited (${exitCode}) before starting: ${recent.trim().slice(-1500)}`)),
  );

  const worker: WorkerProcess = {
    mode: opts.mode,
    taskQueue: opts.taskQueue,
    child,
    recentOutput: () => recent,
    exited: () => exitCode !== undefined,
    async stop() {
      if (exitCode !== undefined) return;
      // SIGTERM: the worker drains, flushes its spans (at most 3 s) and exits 0; SIGKILL if it takes too long.
      child.kill('SIGTERM');
      await withTimeout(exitedPromise, 20_000, () => '').catch(() => {});
      if (exitCode === undefined) {
        console.error(`${opts.mode} worker did not stop within 20 s, killing it`);
        child.kill('SIGKILL');
        await withTimeout(exitedPromise, 5_000, () => '').catch(() => {});
      }
      if (exitCode !== 0)
        console.error(`${opts.mode} worker exited (${exitCode ?? 'still running'}): ${recent.trim().slice(-800)}`);
    },
  };
  opts.onSpawn(worker);
  await opts.bounded(
    withTimeout(ready, 120_000, () => `${opts.mode} worker did not start within 120 s: ${recent.trim().slice(-1500)}`),
  );
  return worker;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ); 100 on every mainstream Linux. */
const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux); null elsewhere. */
function cpuMsOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / clockTicksPerSecond : null;
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM (peak) of a process in MiB, from /proc (Linux); null elsewhere or once it has exited. */
function memoryOf(pid: number | undefined): { rssMiB: number; peakRssMiB: number } | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const rss = kb('VmRSS');
    const hwm = kb('VmHWM');
    if (!Number.isFinite(rss) || !Number.isFinite(hwm)) return null;
    return { rssMiB: round(rss / 1024, 1), peakRssMiB: round(hwm / 1024, 1) };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement

interface RunRecord {
  mode: Mode;
  repetition: number;
  workflowId: string;
  ms: number;
}

interface SpanCounts {
  /** Rows whose workflow_id is one of the mode's timed runs. */
  byWorkflowId: number;
  /** Every row in the traces those runs belong to (a few spans carry no workflow id). */
  inTraces: number;
  byService: Record<string, number>;
  /** Span names with how many of each one timed run writes (total / runs). */
  perRunByName: Array<{ service: string; name: string; perRun: number }>;
}

async function countSpans(orm: Orm, workflowIdList: string[]): Promise<SpanCounts> {
  const conn = orm.em.getConnection();
  if (workflowIdList.length === 0) return { byWorkflowId: 0, inTraces: 0, byService: {}, perRunByName: [] };
  const byService = (await conn.execute(
    'select service, count(*)::int as n from spans where workflow_id in (?) group by service order by service',
    [workflowIdList],
  )) as Array<{ service: string; n: number }>;
  const byName = (await conn.execute(
    `select service, name, count(*)::int as n from spans
      where trace_id in (select distinct trace_id from spans where workflow_id in (?))
      group by service, name order by service, name`,
    [workflowIdList],
  )) as Array<{ service: string; name: string; n: number }>;
  return {
    byWorkflowId: byService.reduce((a, r) => a + r.n, 0),
    inTraces: byName.reduce((a, r) => a + r.n, 0),
    byService: Object.fromEntries(byService.map((r) => [r.service, r.n])),
    perRunByName: byName.map((r) => ({
      service: r.service,
      name: r.name,
      perRun: round(r.n / workflowIdList.length, 2),
    })),
  };
}

async function measure(opts: {
  client: Client;
  orm: Orm;
  tenantId: string;
  taskQueues: Record<Mode, string>;
  probes: number;
  repeat: number;
  warmup: number;
  gapMs: number;
  onWarm: () => void;
  /** Aborted by the watchdog or a signal: no new run starts. */
  signal: AbortSignal;
}) {
  const { client, tenantId, probes, signal } = opts;
  const pause = () => sleep(opts.gapMs, undefined, { signal });
  const runOnce = async (mode: Mode, label: string) => {
    signal.throwIfAborted();
    const workflowId = workflowIds.selfTest(tenantId, `bench-tracing-${mode}-${label}-${randomUUID()}`);
    const input: SelfTestInput = { tenantId, probes, holdMs: 0 };
    const execute = () =>
      client.workflow.execute('selfTest', {
        workflowId,
        taskQueue: opts.taskQueues[mode],
        args: [input],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.TenantId, value: tenantId },
          { key: SEARCH_ATTRIBUTES.RunKind, value: 'system' },
        ],
        // Bounds a stuck run (a failing workflow task is otherwise retried forever).
        workflowExecutionTimeout: '2 minutes',
      }) as Promise<SelfTestResult>;
    const started = performance.now();
    // Untraced: the client records no span and sends no trace context, as a process with tracing off would.
    const result = mode === 'traced' ? await execute() : await context.with(suppressTracing(context.active()), execute);
    const ms = performance.now() - started;
    const ok =
      result.probesWritten === probes &&
      result.probesAlreadyPresent === 0 &&
      result.attempts.length === probes &&
      result.attempts.every((a) => a === 1);
    if (!ok)
      throw new Error(`${mode} run ${workflowId} returned ${JSON.stringify(result)}, expected ${probes} fresh probes`);
    return { workflowId, ms };
  };

  // Warm-up: loads the bundle into each worker's isolates, opens the pools, JITs every path. Not timed.
  console.error(`warm-up: ${opts.warmup} run(s) per mode ...`);
  const warmupIds: Record<Mode, string[]> = { untraced: [], traced: [] };
  for (let i = 0; i < opts.warmup; i++) {
    for (const mode of MODES) {
      warmupIds[mode].push((await runOnce(mode, `warmup${i}`)).workflowId);
      await pause();
    }
  }
  opts.onWarm();

  const runs: RunRecord[] = [];
  for (let r = 0; r < opts.repeat; r++) {
    // ABBA: which mode goes first alternates, so neither always follows the other's leftovers.
    const order: readonly Mode[] = r % 2 === 0 ? MODES : [...MODES].reverse();
    const line: string[] = [];
    for (const mode of order) {
      const { workflowId, ms } = await runOnce(mode, `r${r}`);
      runs.push({ mode, repetition: r, workflowId, ms });
      line.push(`${mode} ${ms.toFixed(1)} ms`);
      // Lets the traced worker's span store (500 ms timer) write this run's spans before the next run starts.
      await pause();
    }
    console.error(`repetition ${r + 1}/${opts.repeat}: ${line.join(', ')}`);
  }
  return { runs, warmupIds };
}

/** Waits until the span count of the given runs has stopped growing (the stores flush every 500 ms). */
async function waitForSpans(orm: Orm, ids: string[], minWaitMs: number, maxWaitMs: number) {
  const conn = orm.em.getConnection();
  const count = async () =>
    (
      (await conn.execute('select count(*)::int as n from spans where workflow_id in (?)', [ids])) as Array<{
        n: number;
      }>
    )[0]!.n;
  const startedAt = Date.now();
  let last = -1;
  let stable = 0;
  while (Date.now() - startedAt < maxWaitMs) {
    const n = await count();
    stable = n === last ? stable + 1 : 0;
    last = n;
    if (stable >= 3 && Date.now() - startedAt >= minWaitMs) break;
    await sleep(500);
  }
  return last;
}

// ---------------------------------------------------------------------------------------------------------------
// Report

interface ModeStats {
  runs: number;
  medianMs: number;
  p95Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  runsMs: number[];
}

const statsOf = (xs: number[]): ModeStats => ({
  runs: xs.length,
  medianMs: round(median(xs)),
  p95Ms: round(percentile(xs, 95)),
  meanMs: round(mean(xs)),
  minMs: round(Math.min(...xs)),
  maxMs: round(Math.max(...xs)),
  runsMs: xs.map((x) => round(x)),
});

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const probes = intFromEnv('BENCH_PROBES', 5, 1, 50);
  const repeat = intFromEnv('BENCH_REPEAT', 30, 1, 500);
  const warmup = intFromEnv('BENCH_WARMUP', 3, 1, 20);
  const gapMs = intFromEnv('BENCH_GAP_MS', 1000, 0, 10_000);
  // Default budget: 5 min for start-up and shutdown plus 10 s per run (a run takes ~1.5 s here, gap included).
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 300 + (repeat + warmup) * 2 * 10, 30, 7 * 24 * 3600);
  const config = loadConfig(process.env);

  // Everything opened is closed in reverse order on every path: success, failure, watchdog or a signal.
  // Everything opened is closed in reverse order on every path; PGlite lives in this process.
  let server: DevServer | undefined;
  const workers: WorkerProcess[] = [];
  const {
    cleanups,
    cleanup,
    bounded,
    dispose,
    signal: abortSignal,
  } = benchLifecycle({
    timeoutS,
    graceS: 90,
    onHardStop: () => {
      for (const w of workers) w.child.kill('SIGKILL');
      server?.process.kill('SIGKILL');
    },
  });

  // The client side of tracing: one SDK for this process, spans to Postgres once the database is attached.
  const telemetry = startTelemetry({ serviceName: 'bench', tracing: true });

  try {
    const tmp = await mkdtemp(join(tmpdir(), 'beyondcloud-bench-tracing-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));

    console.error('acquiring the Temporal CLI, starting Postgres (in memory), bundling the workflows ...');
    // Postgres is registered for cleanup as soon as it is up, even if the CLI or the bundle fails.
    const pgStarted = startEmbeddedPostgres({ port: 0 });
    void pgStarted.then(
      (pg) => cleanups.push(() => pg.stop()),
      () => {},
    );
    const [cliPath, db, workflowBundle] = await bounded(
      Promise.all([
        acquireTemporalCli({
          explicitPath: config.temporal.cliPath,
          cacheDir: config.temporal.cliCacheDir,
          log: (l) => console.error(l),
        }),
        pgStarted,
        buildWorkflowBundle(join(tmp, 'workflow-bundle.js')),
      ]),
    );

    console.error('starting the Temporal dev server (in memory) ...');
    server = await bounded(startDevServer({ cliPath, port: 0, uiPort: null }));
    const s = server;
    cleanups.push(() => s.stop());

    const orm = await bounded(createOrm(db.url, 4));
    cleanups.push(() => orm.close());
    await bounded(migrate(orm));
    telemetry.spanStore?.attach(orm);
    cleanups.push(() => telemetry.shutdown());
    const tenant = await bounded(
      createTenantWithKey(orm, {
        tenantName: `bench-tracing-${randomUUID().slice(0, 8)}`,
        keyName: 'bench',
        role: 'admin',
      }),
    );

    const connection = await bounded(Connection.connect({ address: s.address }));
    cleanups.push(() => connection.close());
    const client = createClient(connection, NAMESPACE);

    console.error('starting two worker processes (TRACING=false, TRACING=true) ...');
    const suffix = randomUUID().slice(0, 8);
    const taskQueues: Record<Mode, string> = {
      untraced: `bench-tracing-off-${suffix}`,
      traced: `bench-tracing-on-${suffix}`,
    };
    // Stopped first on the way out: they need Temporal and Postgres to drain and flush.
    cleanups.push(() => Promise.all(workers.map((w) => w.stop())));
    const byMode = {} as Record<Mode, WorkerProcess>;
    for (const mode of MODES) {
      byMode[mode] = await startWorkerProcess({
        mode,
        taskQueue: taskQueues[mode],
        temporalAddress: s.address,
        databaseUrl: db.url,
        workflowBundle,
        bounded,
        onSpawn: (w) => workers.push(w),
      });
    }

    const memoryAfterWarmup = {} as Record<Mode, ReturnType<typeof memoryOf>>;
    const cpuAfterWarmup = {} as Record<Mode, number | null>;
    // Other work on the machine shows up as noise in both modes; the 1-minute load average says how much there was.
    const loadAtStart = round(loadavg()[0]!);
    const { runs, warmupIds } = await bounded(
      measure({
        client,
        orm,
        tenantId: tenant.tenantId,
        taskQueues,
        probes,
        repeat,
        warmup,
        gapMs,
        signal: abortSignal,
        onWarm: () => {
          for (const mode of MODES) {
            memoryAfterWarmup[mode] = memoryOf(byMode[mode].child.pid);
            cpuAfterWarmup[mode] = cpuMsOf(byMode[mode].child.pid);
          }
        },
      }),
    );
    for (const w of workers)
      if (w.exited()) throw new Error(`${w.mode} worker died during the benchmark: ${w.recentOutput().slice(-1500)}`);
    const loadAtEnd = round(loadavg()[0]!);
    // Worker CPU over the timed phase per timed run (idle polling during the pauses included, alike for both).
    const cpuMsPerRun = Object.fromEntries(
      MODES.map((m) => {
        const end = cpuMsOf(byMode[m].child.pid);
        const start = cpuAfterWarmup[m];
        return [m, end === null || start === null || start === undefined ? null : round((end - start) / repeat, 1)];
      }),
    ) as Record<Mode, number | null>;
    const memoryAtEnd = Object.fromEntries(MODES.map((m) => [m, memoryOf(byMode[m].child.pid)])) as Record<
      Mode,
      ReturnType<typeof memoryOf>
    >;

    const idsOf = (mode: Mode) => runs.filter((r) => r.mode === mode).map((r) => r.workflowId);
    console.error('waiting for the span stores to flush ...');
    await bounded(telemetry.spanStore?.flush() ?? Promise.resolve());
    await bounded(waitForSpans(orm, [...idsOf('traced'), ...warmupIds.traced], 3000, 20_000));
    const spans = {
      untraced: await bounded(countSpans(orm, [...idsOf('untraced'), ...warmupIds.untraced])),
      traced: await bounded(countSpans(orm, idsOf('traced'))),
    };
    if (spans.traced.byWorkflowId === 0) throw new Error('no spans were written for the traced runs');
    if (spans.untraced.inTraces !== 0) {
      throw new Error(
        `${spans.untraced.inTraces} spans were written for the untraced runs, expected none: ${JSON.stringify(spans.untraced.byService)}`,
      );
    }

    // ---- report
    const ms = (mode: Mode) => runs.filter((r) => r.mode === mode).map((r) => r.ms);
    const stats = { untraced: statsOf(ms('untraced')), traced: statsOf(ms('traced')) };
    const paired = Array.from({ length: repeat }, (_, r) => {
      const at = (mode: Mode) => runs.find((x) => x.repetition === r && x.mode === mode)!.ms;
      return at('traced') - at('untraced');
    });
    const [ciLow, ciHigh] = bootstrapMedianCi(paired);
    const pairedDiff = {
      medianMs: round(median(paired)),
      ci95Ms: [round(ciLow), round(ciHigh)],
      tracedSlowerIn: paired.filter((d) => d > 0).length,
      of: repeat,
    };
    const ratio = {
      median: round(stats.traced.medianMs / stats.untraced.medianMs, 3),
      p95: round(stats.traced.p95Ms / stats.untraced.p95Ms, 3),
      rss:
        memoryAtEnd.traced && memoryAtEnd.untraced
          ? round(memoryAtEnd.traced.rssMiB / memoryAtEnd.untraced.rssMiB, 3)
          : null,
      peakRss:
        memoryAtEnd.traced && memoryAtEnd.untraced
          ? round(memoryAtEnd.traced.peakRssMiB / memoryAtEnd.untraced.peakRssMiB, 3)
          : null,
      workerCpu:
        cpuMsPerRun.traced !== null && cpuMsPerRun.untraced
          ? round(cpuMsPerRun.traced / cpuMsPerRun.untraced, 3)
          : null,
    };
    const spansPerRun = {
      untraced: round(spans.untraced.inTraces / (repeat + warmup), 2),
      traced: round(spans.traced.inTraces / repeat, 2),
    };
    const env = {
      ...machineFacts(),
      temporalCli: TEMPORAL_CLI_VERSION,
      temporalServer: 'dev server, in-memory SQLite',
      database: 'PGlite (embedded, in memory) over pglite-socket',
      loadAverage1m: { atStart: loadAtStart, atEnd: loadAtEnd },
    };

    const mib = (m: { rssMiB: number } | null | undefined) => (m ? m.rssMiB.toFixed(1) : '-');
    const peak = (m: { peakRssMiB: number } | null | undefined) => (m ? m.peakRssMiB.toFixed(1) : '-');
    console.log('');
    console.log(
      `Tracing overhead: selfTest with ${probes} probe(s) per run, ${repeat} repetitions (after ${warmup} warm-up runs per mode), ${gapMs} ms between runs`,
    );
    console.log(
      `node ${env.node}, ${env.cpus} CPUs (${env.cpuModel}), Temporal CLI ${env.temporalCli} dev server in memory, ${env.database}`,
    );
    console.log(`1-minute load average: ${loadAtStart} at the start of the timed runs, ${loadAtEnd} at the end`);
    console.log('');
    printTable([
      [
        'mode',
        'median ms',
        'p95 ms',
        'mean ms',
        'min ms',
        'max ms',
        'spans/run',
        'worker CPU ms/run',
        'worker RSS MiB',
        'peak RSS MiB',
      ],
      ...MODES.map((m) => [
        m === 'traced' ? 'traced (TRACING=true)' : 'untraced (TRACING=false)',
        stats[m].medianMs.toFixed(1),
        stats[m].p95Ms.toFixed(1),
        stats[m].meanMs.toFixed(1),
        stats[m].minMs.toFixed(1),
        stats[m].maxMs.toFixed(1),
        spansPerRun[m].toFixed(1),
        cpuMsPerRun[m] === null ? '-' : cpuMsPerRun[m].toFixed(1),
        mib(memoryAtEnd[m]),
        peak(memoryAtEnd[m]),
      ]),
      [
        'traced / untraced',
        `${ratio.median.toFixed(3)}x`,
        `${ratio.p95.toFixed(3)}x`,
        '',
        '',
        '',
        '',
        ratio.workerCpu === null ? '-' : `${ratio.workerCpu.toFixed(3)}x`,
        ratio.rss === null ? '-' : `${ratio.rss.toFixed(3)}x`,
        ratio.peakRss === null ? '-' : `${ratio.peakRss.toFixed(3)}x`,
      ],
    ]);
    console.log('');
    console.log(
      `paired difference (traced - untraced, same repetition): median ${pairedDiff.medianMs.toFixed(1)} ms, ` +
        `95% bootstrap CI ${pairedDiff.ci95Ms[0]!.toFixed(1)} .. ${pairedDiff.ci95Ms[1]!.toFixed(1)} ms; traced slower in ${pairedDiff.tracedSlowerIn}/${repeat}`,
    );
    console.log(
      `worker RSS after warm-up: untraced ${mib(memoryAfterWarmup.untraced)} MiB, traced ${mib(memoryAfterWarmup.traced)} MiB`,
    );
    console.log('');
    console.log(
      `spans of one traced run (rows in its traces: ${spans.traced.inTraces} for ${repeat} runs; with a workflow id: ${spans.traced.byWorkflowId}):`,
    );
    for (const s of spans.traced.perRunByName)
      console.log(`  ${s.perRun.toFixed(2).padStart(6)}  ${s.service.padEnd(20)} ${s.name}`);
    console.log('');
    console.log(
      'RESULT ' +
        JSON.stringify({
          benchmark: 'tracing',
          date: new Date().toISOString(),
          probes,
          repeat,
          warmup,
          gapMs,
          env,
          untraced: stats.untraced,
          traced: stats.traced,
          ratio,
          pairedDifference: pairedDiff,
          spansPerRun,
          spans,
          benchSpanStore: telemetry.spanStore?.stats ?? null,
          workerCpuMsPerRun: cpuMsPerRun,
          memory: { afterWarmup: memoryAfterWarmup, atEnd: memoryAtEnd },
        }),
    );
  } finally {
    dispose();
    await cleanup();
  }
}

runMain(main);
