import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contracts';
import { freePort, PortTaken, retrying, saysPortInUse, startOnFreePort } from '../process/ports';

export interface DevServerOptions {
  cliPath: string;
  /** 0: a free port is chosen (and another one if it is taken before the server binds it). */
  port: number;
  /** null for a headless server; 0 for a free port. */
  uiPort: number | null;
  /** Persist state here; omit for an in-memory server (tests). */
  dbFile?: string;
  /** Server output goes here (it is verbose); omit to discard. */
  logFile?: string;
  namespace?: string;
  ip?: string;
  startTimeoutMs?: number;
  /** Dynamic config over DEV_SERVER_DYNAMIC_CONFIG (the orchestration benchmark's baseline runs the stock values). */
  dynamicConfig?: Readonly<Record<string, string | number | boolean>>;
  /** SQLite pragmas of the `dbFile` instead of DEV_SERVER_SQLITE_PRAGMAS (`{}`: SQLite's defaults; a benchmark's baseline). */
  sqlitePragmas?: Readonly<Record<string, string>>;
}

/**
 * The dynamic config the embedded dev server starts with; measured with `npm run bench:orchestration`
 * (docs/benchmarks.md).
 *
 * - Eager activity dispatch: an activity scheduled by a worker that also polls its queue starts on that worker
 *   without a round through matching; measured here at ~32 ms instead of ~84 ms per sequential activity.
 * - One partition per task queue: with the few workers a dev server has, more partitions only forward tasks and
 *   polls between themselves. 150 child workflows with an activity each, doing nothing (bench/ingest's floor):
 *   3.4-3.7 s with one partition against 5.1-6.2 s with the default four.
 * - Task queue fairness (server 1.29+): a backlog is dispatched in turn per fairness key (runs carry their tenant,
 *   api/runs/start.ts) instead of first in, first out, so one tenant's backlog does not hold back another's tasks.
 * - The history queues' read rate (issue 21): each history shard reads new tasks from its transfer, timer and
 *   visibility queues at most `history.*ProcessorMaxPollRPS` times a second (20 by default, a token bucket of 20):
 *   beyond that every read waits for the next token, 50 ms. A cluster has hundreds of shards, each with its own
 *   budget and a share of the workflows, and a read takes up to 100 tasks at once, so the limit protects the
 *   database there without being felt. The dev server has one shard for every workflow on the machine: one workflow
 *   doing more than about ten steps a second drains it, and every workflow task then waits up to 50 ms to be read
 *   (in the server's debug log: "Assigning new task key TransferWorkflowTask" ... "Process task as active"). At
 *   1000 a sequential activity costs ~12 ms instead of ~48 ms; timers (sleeps, timeouts, retries' backoff) fire on
 *   time, and runs appear in the runs list without the visibility queue's lag. The outbound (Nexus) and archival
 *   queues are not used here.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  'system.enableActivityEagerExecution': true,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  'matching.enableFairness': true,
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
  'history.visibilityProcessorMaxPollRPS': 1000,
};

/**
 * How the dev server's SQLite file is written (`npm start` keeps its workflows in a file). SQLite's defaults (a
 * rollback journal, `synchronous=FULL`) wait for the disk on every commit, and one workflow step is several commits
 * (the task, the history events, the next task): measured here, ~40 ms of every activity. With a write-ahead log and
 * `synchronous=NORMAL` a commit is an append to the log and the disk is synced at checkpoints. A process that is
 * killed, the server included, loses nothing that was committed (the log is in the operating system's hands); only a
 * power loss or an operating-system crash can take back the last commits before a checkpoint. That is the trade
 * every SQLite-backed development server makes; a production cluster runs on PostgreSQL, MySQL or Cassandra.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
};

/** The server's own read rate of those history queues (Temporal 1.29's defaults): the benchmark's baseline. */
export const STOCK_QUEUE_READ_RATES: Readonly<Record<string, number>> = {
  'history.transferProcessorMaxPollRPS': 20,
  'history.timerProcessorMaxPollRPS': 20,
  'history.visibilityProcessorMaxPollRPS': 20,
};

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts `temporal server start-dev` with our search attributes and waits until its frontend answers. */
export function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  // The CLI cannot bind port 0 itself: choose free ports here and try again when one was taken in between.
  if (opts.port === 0 || opts.uiPort === 0) {
    const start = async (port: number) =>
      startOn(
        {
          ...opts,
          port: opts.port === 0 ? port : opts.port,
          uiPort: opts.uiPort === 0 ? await freePort(opts.ip) : opts.uiPort,
        },
        true,
      );
    return retryStartupCrash(() => startOnFreePort(start, 5, opts.ip));
  }
  return startOn(opts, false);
}

/** The dev server panicked while starting (a Go panic exits with status 2 before the frontend answers). */
export class DevServerCrashed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevServerCrashed';
  }
}

/**
 * Starts again, on other ports, after a panic at start. The CLI picks the ports of its internal services (history,
 * matching, the worker service, metrics) itself and panics when a pick fails (`MustGetFreePort`). A CI run of the
 * parallel test suite saw one panic at start; the output kept then was only the stack's end, so its cause is not
 * known, and a start now reports the panic's first line. Only servers whose ports are chosen here are started again; a
 * panic on ports a user set is reported at once.
 */
function retryStartupCrash(start: () => Promise<DevServer>, attempts = 3): Promise<DevServer> {
  return retrying(
    start,
    attempts,
    (e) => e instanceof DevServerCrashed,
    (e) =>
      process.stderr.write(
        `[temporal] the dev server crashed while starting; starting it again: ${(e as Error).message.split('\n')[0]}\n`,
      ),
  );
}

async function startOn(opts: DevServerOptions, chosenHere: boolean): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const address = `${ip}:${opts.port}`;
  if (await portInUse(opts.port, ip)) {
    if (chosenHere) throw new PortTaken(opts.port, 'Temporal dev server');
    throw new Error(
      `Temporal port ${address} is already in use (set TEMPORAL_DEV_PORT, or TEMPORAL_ADDRESS to use that server)`,
    );
  }
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.dbFile) {
    await mkdir(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
    for (const [pragma, value] of Object.entries(opts.sqlitePragmas ?? DEV_SERVER_SQLITE_PRAGMAS))
      args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  if (opts.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const key of Object.values(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${key.name}=Keyword`);
  for (const [key, value] of Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...opts.dynamicConfig })) {
    // The CLI reads each value as YAML: `true`, `1000`; a string goes quoted.
    args.push('--dynamic-config-value', `${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }

  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // The start of the output and its end: a Go panic prints its cause first and then a stack longer than the tail.
  let head = '';
  let recent = '';
  const sink = opts.logFile
    ? (await mkdir(dirname(opts.logFile), { recursive: true }), createWriteStream(opts.logFile, { flags: 'a' }))
    : null;
  const onOutput = (b: Buffer) => {
    const text = b.toString();
    if (head.length < OUTPUT_HEAD) head += text.slice(0, OUTPUT_HEAD - head.length);
    recent = (recent + text).slice(-3000);
    sink?.write(b);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
    sink?.end();
  });

  const stop = async () => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    for (let i = 0; i < 100 && exited === undefined; i++) await sleep(100);
    if (exited === undefined) child.kill('SIGKILL');
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      if (chosenHere && (saysPortInUse(head) || saysPortInUse(recent)))
        throw new PortTaken(opts.port, 'Temporal dev server');
      const message = `Temporal dev server exited (${exited}): ${startupFailure(head, recent)}`;
      throw /^panic: /m.test(head) ? new DevServerCrashed(message) : new Error(message);
    }
    if (await portInUse(opts.port, ip)) {
      try {
        const connection = await Connection.connect({ address, connectTimeout: 2000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: opts.namespace ?? 'default' });
          return {
            address,
            uiUrl: opts.uiPort === null ? null : `http://${ip}:${opts.uiPort}`,
            process: child,
            stop,
          };
        } finally {
          await connection.close();
        }
      } catch {
        // not ready yet
      }
    }
    await sleep(200);
  }
  await stop();
  throw new Error(`Temporal dev server did not become ready at ${address}: ${startupFailure(head, recent)}`);
}

const OUTPUT_HEAD = 4000;

/** What a failed start printed: a panic's cause (at the start of its output) and the last lines. */
export function startupFailure(head: string, recent: string): string {
  const panic = /^panic: .*$/m.exec(head);
  const tail = recent.trim().slice(-800);
  return panic && !tail.includes(panic[0]) ? `${panic[0]}\n...\n${tail}` : tail;
}
