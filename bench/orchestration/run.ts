/**
 * Orchestration overhead: what a workflow pays to call an activity, against the same calls made in-process.
 *
 *   npm run bench:orchestration              # N=200 calls per run, 3 repetitions
 *   BENCH_N=500 BENCH_REPEAT=5 npm run bench:orchestration
 *
 * Starts its own Temporal dev server (in memory, free port, headless) and its own worker on a task queue of its
 * own; needs no database. Each repetition times, for the same N calls of the trivial activity `noop(i)`:
 *   direct   `await noop(i)` in a loop, in this process (the baseline, measured in the same run)
 *   regular  one workflow calling noop N times sequentially as regular activities
 *   local    the same workflow with local activities
 *   empty    the same workflow with N=0 (the fixed cost of one workflow: start, first task, completion, result)
 * The histories of the timed regular runs also give where one activity's time goes (server dispatch vs worker), from
 * the server's own event timestamps. All of it runs on four servers, one after the other: the dev server as the
 * project starts it (in memory, as tests run it); as the baseline of issue 21's "cheaper steps", the same with the
 * history queues' stock read rates (STOCK_QUEUE_READ_RATES); then on a database file as `npm start` keeps it, with
 * the project's SQLite pragmas (DEV_SERVER_SQLITE_PRAGMAS) and, their baseline, with SQLite's defaults.
 * On the first server the same workflow is also served by a worker written with the Temporal Go SDK (go-worker/,
 * built with `go build` once per change of its sources; BENCH_GO=0 skips it): the same server, run and N, so the
 * difference between the two workers' rows is the TypeScript worker's own cost. BENCH_BASELINE=0 measures the first
 * server only. Prints a table and, last, one line `RESULT {json}`. Exits 0 on success and
 * non-zero on any failure; a watchdog (BENCH_TIMEOUT_S, default 300 s plus 0.5 s per activity call) bounds the
 * whole run, and the server is stopped on every path.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../../lib/config';
import { acquireTemporalCli, TEMPORAL_CLI_VERSION } from '../../lib/temporal/cli';
import {
  DEV_SERVER_SQLITE_PRAGMAS,
  STOCK_QUEUE_READ_RATES,
  startDevServer,
  type DevServer,
} from '../../lib/temporal/dev-server';
import * as activities from './activities';
import type { benchActivities } from './workflows';
import { acquireGoProgram } from '../../test/deployment-tools';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { intFromEnv, machineFacts, median } from '../lib/env';

const workflowsPath = fileURLToPath(new URL('./workflows.ts', import.meta.url));
const goWorkerDir = fileURLToPath(new URL('./go-worker', import.meta.url));
const NAMESPACE = 'default';
/** Above this a regular-activity run nears Temporal's history limits (about six events per activity). */
const MAX_N = 5000;

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

type Mode = 'direct' | 'regular' | 'local' | 'empty';

interface ModeResult {
  runsMs: number[];
  medianMs: number;
}

/** Medians over the regular runs' histories, from the server's event timestamps: where one activity's time goes. */
interface Phases {
  /** ActivityTaskScheduled -> ActivityTaskStarted: the server hands the activity task to a waiting poller. */
  activityDispatchMs: number;
  /** ActivityTaskStarted -> ActivityTaskCompleted: the worker receives, runs noop, reports back. */
  activityRunMs: number;
  /** WorkflowTaskScheduled -> WorkflowTaskStarted: the server hands the next workflow task to the worker. */
  workflowTaskDispatchMs: number;
  /** WorkflowTaskStarted -> WorkflowTaskCompleted: the worker replays the activation and answers. */
  workflowTaskRunMs: number;
}

interface Measurements {
  n: number;
  repeat: number;
  modes: Record<Mode, ModeResult>;
  phases: Phases;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

const eventMs = (e: HistoryEvent) => {
  const seconds = e.eventTime?.seconds ?? 0;
  return (typeof seconds === 'number' ? seconds : seconds.toNumber()) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
};

function phasesOf(histories: HistoryEvent[][]): Phases {
  const gaps: Record<keyof Phases, number[]> = {
    activityDispatchMs: [],
    activityRunMs: [],
    workflowTaskDispatchMs: [],
    workflowTaskRunMs: [],
  };
  for (const events of histories) {
    for (let i = 1; i < events.length; i++) {
      const prev = events[i - 1]!;
      const e = events[i]!;
      const gap = eventMs(e) - eventMs(prev);
      const phase: keyof Phases | null =
        prev.activityTaskScheduledEventAttributes && e.activityTaskStartedEventAttributes
          ? 'activityDispatchMs'
          : prev.activityTaskStartedEventAttributes && e.activityTaskCompletedEventAttributes
            ? 'activityRunMs'
            : prev.workflowTaskScheduledEventAttributes && e.workflowTaskStartedEventAttributes
              ? 'workflowTaskDispatchMs'
              : prev.workflowTaskStartedEventAttributes && e.workflowTaskCompletedEventAttributes
                ? 'workflowTaskRunMs'
                : null;
      if (phase) gaps[phase].push(gap);
    }
  }
  for (const [phase, xs] of Object.entries(gaps)) {
    if (xs.length === 0) throw new Error(`no ${phase} samples in the histories`);
  }
  return {
    activityDispatchMs: round(median(gaps.activityDispatchMs), 2),
    activityRunMs: round(median(gaps.activityRunMs), 2),
    workflowTaskDispatchMs: round(median(gaps.workflowTaskDispatchMs), 2),
    workflowTaskRunMs: round(median(gaps.workflowTaskRunMs), 2),
  };
}

/** The in-process baseline: the very function the worker runs, awaited in a loop. */
async function direct(n: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await activities.noop(i);
  return sum;
}

const expectedSum = (n: number) => (n * (n - 1)) / 2;

async function measure(client: Client, taskQueue: string, n: number, repeat: number): Promise<Measurements> {
  const runWorkflow = async (count: number, local: boolean, label: string) => {
    const workflowId = `bench-orchestration-${label}-${randomUUID()}`;
    const started = performance.now();
    const sum = await client.workflow.execute<typeof benchActivities>('benchActivities', {
      args: [count, local],
      taskQueue,
      workflowId,
      // Bounds a stuck run (a failing workflow task is otherwise retried forever): 1 s per call, at least 5 min.
      workflowExecutionTimeout: `${Math.max(300, count)} seconds`,
    });
    const ms = performance.now() - started;
    if (sum !== expectedSum(count)) {
      throw new Error(`${label}: workflow returned ${sum}, expected ${expectedSum(count)}`);
    }
    return { ms, workflowId };
  };

  const timeDirect = async () => {
    const started = performance.now();
    const sum = await direct(n);
    const ms = performance.now() - started;
    if (sum !== expectedSum(n)) throw new Error(`direct: returned ${sum}, expected ${expectedSum(n)}`);
    return ms;
  };

  // Warm-up: the first workflow task loads the bundle into a fresh isolate and every path is JIT-cold. These runs
  // are not timed; their histories prove each mode does what it says (N scheduled activities vs N markers).
  console.error(`warm-up (N=${n}) ...`);
  await timeDirect();
  await runWorkflow(0, false, 'warmup-empty');
  for (const local of [false, true]) {
    const { workflowId } = await runWorkflow(n, local, local ? 'warmup-local' : 'warmup-regular');
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).length;
    const markers = events.filter((e) => e.markerRecordedEventAttributes).length;
    const want = local ? { scheduled: 0, markers: n } : { scheduled: n, markers: 0 };
    if (scheduled !== want.scheduled || markers !== want.markers) {
      throw new Error(
        `${local ? 'local' : 'regular'} warm-up history has ${scheduled} scheduled activities and ` +
          `${markers} markers, ` +
          `expected ${want.scheduled} and ${want.markers}`,
      );
    }
  }

  const runs: Record<Mode, number[]> = { direct: [], regular: [], local: [], empty: [] };
  const regularIds: string[] = [];
  // Modes are interleaved within each repetition so that drift (GC, the server's in-memory state) hits all alike.
  for (let r = 0; r < repeat; r++) {
    console.error(`repetition ${r + 1}/${repeat} ...`);
    runs.direct.push(await timeDirect());
    const regular = await runWorkflow(n, false, `regular-${r}`);
    runs.regular.push(regular.ms);
    regularIds.push(regular.workflowId);
    runs.local.push((await runWorkflow(n, true, `local-${r}`)).ms);
    runs.empty.push((await runWorkflow(0, false, `empty-${r}`)).ms);
  }
  const modes = Object.fromEntries(
    Object.entries(runs).map(([mode, ms]) => [mode, { runsMs: ms.map((x) => round(x)), medianMs: round(median(ms)) }]),
  ) as Record<Mode, ModeResult>;
  const histories = await Promise.all(
    regularIds.map(async (id) => (await client.workflow.getHandle(id).fetchHistory()).events ?? []),
  );
  return { n, repeat, modes, phases: phasesOf(histories) };
}

function report(m: Measurements, env: Record<string, unknown>, server: string) {
  const { n, modes } = m;
  const d = modes.direct.medianMs;
  const e = modes.empty.medianMs;
  const derived = (mode: 'regular' | 'local') => {
    const w = modes[mode].medianMs;
    return {
      ...modes[mode],
      /** What the spec of this benchmark calls per-activity overhead: (workflow - direct) / N. */
      overheadPerActivityMs: round((w - d) / n),
      /** The same without the fixed cost of one workflow: (workflow - empty workflow) / N. */
      marginalPerActivityMs: round((w - e) / n),
      ratioVsDirect: d > 0 ? round(w / d, 1) : null,
    };
  };
  const regular = derived('regular');
  const local = derived('local');

  const fmt = (x: number | null) => (x === null ? '-' : x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(4));
  const ratio = (x: number | null) => (x === null ? '-' : `${Math.round(x).toLocaleString('en-US')}x`);
  const rows: string[][] = [
    ['mode', 'median ms', 'runs ms', 'overhead/activity ms', 'marginal/activity ms', 'ratio vs direct'],
    ['direct (in-process)', fmt(d), modes.direct.runsMs.map(fmt).join(' '), '-', '-', '1x'],
    [
      'regular activities',
      fmt(regular.medianMs),
      regular.runsMs.map(fmt).join(' '),
      fmt(regular.overheadPerActivityMs),
      fmt(regular.marginalPerActivityMs),
      ratio(regular.ratioVsDirect),
    ],
    [
      'local activities',
      fmt(local.medianMs),
      local.runsMs.map(fmt).join(' '),
      fmt(local.overheadPerActivityMs),
      fmt(local.marginalPerActivityMs),
      ratio(local.ratioVsDirect),
    ],
    ['empty workflow (N=0)', fmt(e), modes.empty.runsMs.map(fmt).join(' '), '-', '-', '-'],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');

  console.log('');
  console.log(`Orchestration overhead: N=${n} sequential calls of noop(i) per run, ${m.repeat} repetitions, medians`);
  console.log(`node ${env.node}, ${env.cpus} CPUs (${env.cpuModel}), Temporal CLI ${env.temporalCli} dev server`);
  console.log(`server: ${server}`);
  console.log('');
  console.log(line(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
  console.log('');
  console.log('overhead/activity = (workflow - direct) / N; marginal/activity = (workflow - empty workflow) / N');
  console.log(`local activities are ${(regular.medianMs / local.medianMs).toFixed(1)}x faster than regular ones here`);
  const p = m.phases;
  console.log('');
  console.log('one regular activity, medians of the server event timestamps in the timed regular runs:');
  console.log(`  activity task dispatch (scheduled -> started)        ${fmt(p.activityDispatchMs).padStart(8)} ms`);
  console.log(`  activity run + report  (started -> completed)        ${fmt(p.activityRunMs).padStart(8)} ms`);
  console.log(`  workflow task dispatch (scheduled -> started)        ${fmt(p.workflowTaskDispatchMs).padStart(8)} ms`);
  console.log(`  workflow task run      (started -> completed)        ${fmt(p.workflowTaskRunMs).padStart(8)} ms`);
  return {
    server,
    direct: modes.direct,
    regular,
    local,
    emptyWorkflow: modes.empty,
    localSpeedupVsRegular: round(regular.medianMs / local.medianMs, 2),
    regularActivityPhases: m.phases,
  };
}

/**
 * The same measurement with the workflow served by the Go SDK worker (go-worker/), started for it on a task queue of
 * its own against the same server, and stopped after it.
 */
async function measureGoWorker(
  address: string,
  client: Client,
  n: number,
  repeat: number,
  cleanups: Array<() => Promise<unknown>>,
): Promise<Measurements> {
  const bin = await acquireGoProgram(goWorkerDir, 'orchestration-go-worker', process.env, (l) => console.error(l));
  const taskQueue = `bench-orchestration-go-${randomUUID()}`;
  console.error('starting the Go SDK worker ...');
  const child = spawn(bin, ['-address', address, '-namespace', NAMESPACE, '-task-queue', taskQueue], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Also stopped by the lifecycle's cleanup: a watchdog or a signal may end the run while it measures.
  const stop = async () => child.kill('SIGTERM');
  cleanups.push(stop);
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`the Go worker exited (${signal ?? `code ${code}`})`);
  });
  exited.catch(() => {});
  try {
    let out = '';
    await Promise.race([
      new Promise<void>((resolve) =>
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('ready')) resolve();
        }),
      ),
      exited,
    ]);
    return await Promise.race([measure(client, taskQueue, n, repeat), exited]);
  } finally {
    await stop();
    cleanups.splice(cleanups.indexOf(stop), 1);
  }
}

/**
 * The servers measured: the project's dev server in memory (as tests run it), and as the baselines, in the same run,
 * its stock queue read rates; then with a database file as `npm start` keeps it, with the project's SQLite pragmas
 * (write-ahead log, synchronous=normal) and with SQLite's defaults (a commit waits for the disk).
 */
const SERVERS: ReadonlyArray<{
  name: string;
  label: string;
  dynamicConfig: Readonly<Record<string, number>>;
  dbFile?: boolean;
  sqlitePragmas?: Readonly<Record<string, string>>;
}> = [
  { name: 'project', label: 'the dev server as the project starts it (lib/temporal/dev-server.ts)', dynamicConfig: {} },
  {
    name: 'stockReadRates',
    label: `the same with the history queues' stock read rates (${Object.entries(STOCK_QUEUE_READ_RATES)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')})`,
    dynamicConfig: STOCK_QUEUE_READ_RATES,
  },
  {
    name: 'fileWal',
    label: `the project's server on a database file, as npm start runs it (${Object.entries(DEV_SERVER_SQLITE_PRAGMAS)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')})`,
    dynamicConfig: {},
    dbFile: true,
  },
  {
    name: 'fileSqliteDefaults',
    label: "the same database file with SQLite's default journal and synchronous=full",
    dynamicConfig: {},
    dbFile: true,
    sqlitePragmas: {},
  },
];

async function main(): Promise<void> {
  const n = intFromEnv('BENCH_N', 200, 1, MAX_N);
  const repeat = intFromEnv('BENCH_REPEAT', 3, 1, 50);
  // Default budget: 5 min plus 0.5 s per activity call (warm-up and R repetitions, regular and local); ~5x what a
  // run takes on a slow machine.
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 300 + Math.ceil((repeat + 1) * 2 * n * 0.5), 10, 7 * 24 * 3600);
  const config = loadConfig(process.env);
  Runtime.install({ logger: new DefaultLogger('WARN') });

  // BENCH_BASELINE=0 measures the project's server only.
  const servers = SERVERS.filter((s) => s.name === 'project' || process.env.BENCH_BASELINE !== '0');

  // Everything opened is closed in reverse order on every path: success, failure, watchdog or a signal.
  let current: DevServer | undefined;
  const { cleanups, cleanup, bounded, dispose } = benchLifecycle({
    timeoutS: timeoutS * servers.length,
    graceS: 60,
    onHardStop: () => current?.process.kill('SIGKILL'),
    onSignal: () => current?.process.kill('SIGTERM'),
  });

  try {
    const cliPath = await bounded(
      acquireTemporalCli({
        explicitPath: config.temporal.cliPath,
        cacheDir: config.temporal.cliCacheDir,
        log: (l) => console.error(l),
      }),
    );
    const env = {
      ...machineFacts(),
      temporalCli: TEMPORAL_CLI_VERSION,
      temporalServer: 'dev server (SQLite in memory, or on a file where a server says so)',
    };
    const results: Record<string, ReturnType<typeof report>> = {};
    for (const s of servers) {
      console.error(`starting the Temporal dev server (${s.dbFile ? 'database file' : 'in memory'}): ${s.label} ...`);
      const dbDir = s.dbFile ? await mkdtemp(join(tmpdir(), 'bench-orchestration-')) : null;
      if (dbDir) cleanups.push(() => rm(dbDir, { recursive: true, force: true }));
      const server = await bounded(
        startDevServer({
          cliPath,
          port: 0,
          uiPort: null,
          dynamicConfig: s.dynamicConfig,
          ...(dbDir ? { dbFile: join(dbDir, 'temporal.db'), sqlitePragmas: s.sqlitePragmas } : {}),
        }),
      );
      current = server;
      const nativeConnection = await bounded(NativeConnection.connect({ address: server.address }));
      const connection = await bounded(Connection.connect({ address: server.address }));
      const closeAll = async () => {
        await connection.close();
        await nativeConnection.close();
        await server.stop();
      };
      cleanups.push(closeAll);
      const client = new Client({ connection, namespace: NAMESPACE });
      const taskQueue = `bench-orchestration-${randomUUID()}`;
      console.error('bundling the benchmark workflow and starting a worker ...');
      const worker = await bounded(
        Worker.create({ connection: nativeConnection, namespace: NAMESPACE, taskQueue, workflowsPath, activities }),
      );
      // runUntil shuts the worker down (and waits for it) once the measurement settles, either way.
      const measurements = await worker.runUntil(bounded(measure(client, taskQueue, n, repeat)));
      results[s.name] = report(measurements, env, s.label);
      if (s.name === 'project' && process.env.BENCH_GO !== '0') {
        results.goWorker = report(
          await bounded(measureGoWorker(server.address, client, n, repeat, cleanups)),
          env,
          `${s.label}, the workflow served by the Go SDK worker (bench/orchestration/go-worker)`,
        );
      }
      // One server at a time: the second must not share the two cores with the first.
      cleanups.splice(cleanups.indexOf(closeAll), 1);
      await closeAll();
      current = undefined;
    }
    const project = results.project!;
    const stock = results.stockReadRates;
    if (stock) {
      const ratio = (a: number, b: number) => round(a / b, 2);
      console.log('');
      console.log("the project's dev server against its stock queue read rates (same run, same N):");
      console.log(
        `  marginal cost of a sequential regular activity: ${project.regular.marginalPerActivityMs.toFixed(2)} ms ` +
          `vs ${stock.regular.marginalPerActivityMs.toFixed(2)} ms ` +
          `(${ratio(stock.regular.marginalPerActivityMs, project.regular.marginalPerActivityMs)}x cheaper)`,
      );
      console.log(
        `  workflow task dispatch: ${project.regularActivityPhases.workflowTaskDispatchMs} ms vs ` +
          `${stock.regularActivityPhases.workflowTaskDispatchMs} ms; empty workflow ` +
          `${project.emptyWorkflow.medianMs.toFixed(1)} ms vs ${stock.emptyWorkflow.medianMs.toFixed(1)} ms`,
      );
    }
    const go = results.goWorker;
    if (go) {
      const ts = project.regularActivityPhases;
      const g = go.regularActivityPhases;
      console.log('');
      console.log("the TypeScript worker against the Go SDK's on the project's dev server (same run, same N):");
      console.log(
        `  marginal cost of a sequential regular activity: ${project.regular.marginalPerActivityMs.toFixed(2)} ms ` +
          `vs ${go.regular.marginalPerActivityMs.toFixed(2)} ms; workflow task run ${ts.workflowTaskRunMs} ms vs ` +
          `${g.workflowTaskRunMs} ms; activity run and report ${ts.activityRunMs} ms vs ${g.activityRunMs} ms; ` +
          `workflow task dispatch ${ts.workflowTaskDispatchMs} ms vs ${g.workflowTaskDispatchMs} ms`,
      );
    }
    const fileWal = results.fileWal;
    const fileDefaults = results.fileSqliteDefaults;
    if (fileWal && fileDefaults) {
      console.log('');
      console.log(
        "the project's dev server on a database file (npm start), its SQLite pragmas against SQLite's defaults:",
      );
      console.log(
        `  marginal cost of a sequential regular activity: ${fileWal.regular.marginalPerActivityMs.toFixed(2)} ms ` +
          `vs ${fileDefaults.regular.marginalPerActivityMs.toFixed(2)} ms ` +
          `(${round(fileDefaults.regular.marginalPerActivityMs / fileWal.regular.marginalPerActivityMs, 2)}x cheaper); ` +
          `in memory ${project.regular.marginalPerActivityMs.toFixed(2)} ms; empty workflow ` +
          `${fileWal.emptyWorkflow.medianMs.toFixed(1)} ms vs ${fileDefaults.emptyWorkflow.medianMs.toFixed(1)} ms`,
      );
    }
    console.log('');
    console.log(
      'RESULT ' +
        JSON.stringify({
          benchmark: 'orchestration',
          date: new Date().toISOString(),
          n,
          repeat,
          env,
          ...project,
          ...(stock
            ? {
                stockReadRates: stock,
                marginalSpeedupVsStockReadRates: round(
                  stock.regular.marginalPerActivityMs / project.regular.marginalPerActivityMs,
                  2,
                ),
              }
            : {}),
          ...(go ? { goWorker: go } : {}),
          ...(fileWal ? { fileWal } : {}),
          ...(fileDefaults ? { fileSqliteDefaults: fileDefaults } : {}),
        }),
    );
  } finally {
    dispose();
    await cleanup();
  }
}

runMain(main);
