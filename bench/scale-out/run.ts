/**
 * The scale-out run (issue 22): BeyondCloud deployed the way infra/k8s deploys it, on this machine's loopback, on the
 * real server software, under a mixed load while faults are injected, then checked for lost and duplicated work.
 *
 *   npm run scale-out                          # the full run
 *   SCALE_PROFILE=short npm run scale-out      # what CI runs: a smaller load and one fault
 *
 * What it starts (in the order the Kubernetes manifests and temporal.docker-compose.yml give):
 *   - Postgres: Debian's PostgreSQL with pgvector (lib/db/local-postgres.ts) in a new cluster on a free port; it holds
 *     Temporal's two databases and BeyondCloud's own (`beyondcloud`).
 *   - Temporal: the real server (lib/temporal/server.ts: built from its Go packages at the compose file's version,
 *     schema by temporal-sql-tool, infra/temporal/dynamicconfig.yaml, 4 history shards), namespace and search
 *     attributes by infra/temporal/register-namespace.sh.
 *   - the migrate Job: scripts/migrate.ts (migrations, the admin tenant from BOOTSTRAP_ADMIN_KEY).
 *   - workers: 2 x workers/main.ts with WORKER_TASK_QUEUES=main and 1 with WORKER_TASK_QUEUES=tools (the two worker
 *     Deployments), using the prebuilt workflow bundle (WORKER_WORKFLOW_BUNDLE, as the image does).
 *   - APIs: 2 x api/server.ts behind one port (a round-robin TCP relay: the Service).
 *   Every process gets infra/k8s/config.env, then what differs on one machine: addresses and free ports, a shared
 *   BLOB_DIR (the volume the API and workers share), the scripted model's URL, quotas off. The processes reach
 *   BeyondCloud's database through a TCP relay the run can cut. A process that exits is started again after 1 s
 *   (what the kubelet does).
 *   - the model: the scripted OpenAI-compatible server (test/openai-server.ts) in this process, every chat call
 *     answered after SCALE_MODEL_LATENCY_MS (300): answers quote their first passage, the judge supports, agent turns
 *     call `notes/append_note` twice then finish; embeddings are its deterministic vectors.
 *   - the MCP server: test/agents/counting-mcp-server.ts (streamable HTTP), which counts every tool call it receives.
 *
 * The load, spread evenly over SCALE_DURATION_S (open loop: each operation starts at its time whatever the others
 * do): SCALE_DOCS documents uploaded 50 a request (each upload one ingest run), SCALE_ANSWERS answers
 * (`POST /v1/answers?wait=true` over a seed collection, re-asked with the same id after a failed call), SCALE_AGENTS
 * agent runs (two non-idempotent tool calls each). Faults (SCALE_FAULTS, in this order, evenly spaced):
 *   worker    a main worker SIGKILLed, started again 5 s later
 *   temporal  the Temporal server stopped (SIGTERM) and started again on the same ports and databases
 *   database  every connection to BeyondCloud's database dropped and new ones refused for 10 s
 * Then it waits for every run to end and checks, in the database and at the MCP server: each document stored once,
 * no duplicated chunk, no tool call received twice, every accepted run ended (lost: 0). Last, throughput with 1, 2
 * and 3 main workers (SCALE_THROUGHPUT=0 skips it). Prints tables and `RESULT {json}`; exits non-zero when anything
 * was lost or duplicated.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../../lib/config';
import { acquirePostgres, startLocalPostgres } from '../../lib/db/local-postgres';
import { acquireTemporalCli } from '../../lib/temporal/cli';
import {
  acquireTemporalServer,
  parsePostgresUrl,
  registerNamespace,
  setupTemporalSchema,
  startTemporalServer,
  TEMPORAL_SERVER_VERSION,
  temporalServerCacheDir,
} from '../../lib/temporal/server';
import { startCountingMcpServer } from '../../test/agents/counting-mcp-server';
import { startOpenAiServer, type RecordedRequest, type Step } from '../../test/openai-server';
import { messagesOf, scriptedAnswerStep } from '../../test/scripted-model';
import { intFromEnv, machineFacts, percentile } from '../lib/env';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { sampleProcesses, type RoleUsage } from '../lib/procs';
import { stackCall } from '../lib/stack';
import { printTable } from '../lib/table';
import { startRelay } from './relay';

const root = fileURLToPath(new URL('../..', import.meta.url));
const log = (l: string) => console.error(`[scale-out] ${l}`);
const round = (x: number, d = 1) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
const DOCS_PER_UPLOAD = 50;
const FAULTS = ['worker', 'temporal', 'database'] as const;
type Fault = (typeof FAULTS)[number];

interface Profile {
  docs: number;
  answers: number;
  agents: number;
  durationS: number;
  faults: Fault[];
  throughput: boolean;
}

function parentOf(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function profileFromEnv(): Profile {
  const short = process.env.SCALE_PROFILE === 'short';
  if (process.env.SCALE_PROFILE && !['short', 'full'].includes(process.env.SCALE_PROFILE))
    throw new Error(`SCALE_PROFILE must be short or full (got "${process.env.SCALE_PROFILE}")`);
  const faults = (process.env.SCALE_FAULTS ?? (short ? 'worker' : FAULTS.join(',')))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of faults)
    if (!FAULTS.includes(f as Fault)) throw new Error(`SCALE_FAULTS: unknown fault "${f}" (${FAULTS.join(', ')})`);
  return {
    docs: intFromEnv('SCALE_DOCS', short ? 200 : 1000, 50, 100_000),
    answers: intFromEnv('SCALE_ANSWERS', short ? 60 : 500, 1, 100_000),
    agents: intFromEnv('SCALE_AGENTS', short ? 10 : 50, 0, 10_000),
    durationS: intFromEnv('SCALE_DURATION_S', short ? 60 : 480, 20, 86_400),
    faults: faults as Fault[],
    throughput: intFromEnv('SCALE_THROUGHPUT', short ? 0 : 1, 0, 1) === 1,
  };
}

/** infra/k8s/config.env as an environment (VARIABLE=value lines, comments skipped). */
async function k8sConfigEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const line of (await readFile(join(root, 'infra', 'k8s', 'config.env'), 'utf8')).split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

// ---- the synthetic corpus: documents of a made-up product manual, each about one named component ----

const WORDS = ['relay', 'cache', 'ledger', 'beacon', 'gateway', 'scheduler', 'vault', 'mirror', 'index', 'queue'];
const component = (i: number) => `${WORDS[i % WORDS.length]}-${i}`;
function documentText(i: number, prefix: string): string {
  const c = component(i);
  return [
    `# The ${c} component (${prefix})`,
    '',
    `The ${c} component stores ${WORDS[(i * 7) % WORDS.length]} records for ${1 + (i % 17)} days and replicates them ` +
      `to ${2 + (i % 5)} regions. Its owner team reviews the ${c} settings every quarter.`,
    '',
    `## Operating ${c}`,
    '',
    `To restart ${c}, drain its ${WORDS[(i * 3) % WORDS.length]} connections first, then wait ${10 + (i % 50)} seconds. ` +
      `The ${c} health check answers on port ${7000 + i}. Alerts fire when its backlog exceeds ${100 * (1 + (i % 9))} items.`,
    '',
    `## Limits of ${c}`,
    '',
    `A single ${c} instance handles ${1000 + 13 * i} requests a second. Larger loads need a second instance behind ` +
      `the ${WORDS[(i * 5) % WORDS.length]} tier. Version ${1 + (i % 4)}.${i % 10} added compression.`,
  ].join('\n');
}

// ---- the scripted model ----

function scriptedModel(latencyMs: number): (r: RecordedRequest) => Step {
  return (r) => {
    let step: Step;
    if (Array.isArray(r.body?.tools) && (r.body.tools as unknown[]).length) {
      // An agent turn: two notes (named after the run's marker in the goal), then the final answer.
      const messages = messagesOf(r);
      const marker = /agent-\d+/.exec(messages.find((m) => m.role === 'user')?.content ?? '')?.[0] ?? 'agent-?';
      const done = messages.filter((m) => m.role === 'tool').length;
      step =
        done < 2
          ? {
              reply: { toolCalls: [{ name: 'notes__append_note', arguments: { text: `${marker} note ${done + 1}` } }] },
            }
          : { reply: { content: `Took two notes for ${marker}.` } };
    } else {
      step = scriptedAnswerStep(r);
    }
    return latencyMs > 0 ? { delayMs: latencyMs, then: step } : step;
  };
}

// ---- processes, supervised like pods ----

interface Pod {
  name: string;
  role: 'worker' | 'tools-worker' | 'api';
  child: ChildProcess | null;
  port?: number;
  restarts: number;
  /** Whether the run wants it running (a pod the run scaled down or killed on purpose stays down meanwhile). */
  wanted: boolean;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

interface Op {
  kind: 'answer' | 'agent' | 'ingest';
  startedAt: number;
  endedAt?: number;
  /** The run the platform accepted (workflow id); undefined when the start itself failed. */
  runId?: string;
  /** answered / abstained / completed / ready..., or failed: <why>. */
  outcome?: string;
  ok?: boolean;
  /** Client-side errors met on the way (a failed call retried or followed by polling). */
  errors: number;
}

interface Window {
  fault: Fault;
  start: number;
  /** When the fault was over (the process back, the server up, the database reachable). */
  healed: number;
}

async function main() {
  const profile = profileFromEnv();
  const latencyMs = intFromEnv('SCALE_MODEL_LATENCY_MS', 300, 0, 10_000);
  const timeoutS = intFromEnv('SCALE_TIMEOUT_S', 3600, 120, 86_400);
  const pods: Pod[] = [];
  let stopping = false;
  const lc = benchLifecycle({
    timeoutS,
    graceS: 90,
    onHardStop: () => pods.forEach((p) => p.child?.kill('SIGKILL')),
    onSignal: () => {
      stopping = true;
      pods.forEach((p) => p.child?.kill('SIGTERM'));
    },
  });
  const { cleanups, bounded } = lc;
  let failed = true;
  try {
    const work = await mkdtemp(join(tmpdir(), 'bc-scale-out-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));

    // ---- Postgres, Temporal ----
    const pgBin = await bounded(acquirePostgres(log));
    const db = await bounded(
      startLocalPostgres({ bin: pgBin, dataDir: join(work, 'pgdata'), settings: { max_connections: 300 } }),
    );
    cleanups.push(() => db.stop());
    log(`Postgres ${db.url}`);
    // The caches npm start and npm run temporal:cluster use (TEMPORAL_CLI_CACHE_DIR, its sibling temporal-server/).
    const { temporal: temporalConfig } = loadConfig();
    const cli = await bounded(
      acquireTemporalCli({ explicitPath: temporalConfig.cliPath, cacheDir: temporalConfig.cliCacheDir, log }),
    );
    const bin = await bounded(
      acquireTemporalServer({ cacheDir: temporalServerCacheDir(temporalConfig.cliCacheDir), log }),
    );
    const temporalPg = parsePostgresUrl(db.url);
    await bounded(setupTemporalSchema(bin, temporalPg));
    const temporal = await bounded(
      startTemporalServer({
        bin,
        pg: temporalPg,
        dir: join(work, 'temporal'),
        dynamicConfigFile: join(root, 'infra', 'temporal', 'dynamicconfig.yaml'),
        numHistoryShards: 4,
      }),
    );
    cleanups.push(() => temporal.stop());
    const config = await k8sConfigEnv();
    const namespace = config.TEMPORAL_NAMESPACE ?? 'beyondcloud';
    await bounded(
      registerNamespace({
        cli,
        script: join(root, 'infra', 'temporal', 'register-namespace.sh'),
        address: temporal.address,
        namespace,
      }),
    );
    log(`Temporal server ${TEMPORAL_SERVER_VERSION} on ${temporal.address}, namespace ${namespace}`);

    // BeyondCloud's database, reached through a relay the run can cut.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('create database beyondcloud');
    await admin.end();
    const dbRelay = await startRelay(() => [db.port]);
    cleanups.push(() => dbRelay.close());
    const directDbUrl = db.url.replace(/\/postgres$/, '/beyondcloud');

    // ---- the model and the MCP server ----
    const model = await startOpenAiServer({ apiKey: 'sk-scale-out', fallback: { chat: scriptedModel(latencyMs) } });
    cleanups.push(() => model.close());
    const mcp = await startCountingMcpServer();
    cleanups.push(() => mcp.close());

    // ---- the environment every process gets ----
    const key = `bc_${randomBytes(32).toString('base64url')}`;
    const bundle = join(work, 'workflow-bundle.js');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...config,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      TEMPORAL_ADDRESS: temporal.address,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${dbRelay.port}/beyondcloud`,
      BOOTSTRAP_ADMIN_KEY: key,
      BC_DATA_DIR: join(work, 'data'),
      BLOB_DIR: join(work, 'blobs'),
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      WORKER_HEALTH_PORT: '0',
      WORKER_WORKFLOW_BUNDLE: bundle,
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'sk-scale-out',
      LLM_EMBEDDING_DIMENSIONS: '256',
      FETCH_ALLOW_HOSTS: '127.0.0.1',
      QUOTA_REQUESTS_PER_MINUTE: '0',
      QUOTA_RUNS_PER_MINUTE: '0',
      QUOTA_CONCURRENT_RUNS: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
    };
    for (const k of ['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH', 'LLM_MODEL_EMBEDDING'])
      delete env[k];
    await mkdir(env.BLOB_DIR!, { recursive: true });

    const runScript = (script: string, args: string[] = []) =>
      new Promise<string>((resolve, reject) => {
        const child = fork(join(root, script), args, {
          env,
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        });
        let out = '';
        child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
        child.once('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}:\n${out}`)),
        );
      });
    log('the migrate Job (scripts/migrate.ts) and the workflow bundle (workers/bundle.ts) ...');
    log((await bounded(runScript('scripts/migrate.ts'))).trim());
    await bounded(runScript('workers/bundle.ts', [bundle]));

    // ---- pods: each one's output appended to <work>/logs/<name>.log (its tail printed when the run fails) ----
    const logDir = join(work, 'logs');
    await mkdir(logDir, { recursive: true });
    const logFile = (name: string) => openSync(join(logDir, `${name}.log`), 'a');
    cleanups.push(async () => {
      if (!failed) return;
      for (const pod of pods) {
        const text = await readFile(join(logDir, `${pod.name}.log`), 'utf8').catch(() => '');
        console.error(`---- ${pod.name} (last 40 lines) ----\n${text.trimEnd().split('\n').slice(-40).join('\n')}`);
      }
    });
    const startPod = (pod: Pod): Promise<void> =>
      new Promise((resolve, reject) => {
        const script = pod.role === 'api' ? 'api/server.ts' : 'workers/main.ts';
        const out = logFile(pod.name);
        const child = fork(join(root, script), [], {
          env: {
            ...env,
            ...(pod.role === 'api' ? {} : { WORKER_TASK_QUEUES: pod.role === 'worker' ? 'main' : 'tools' }),
          },
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', out, out, 'ipc'],
        });
        closeSync(out);
        pod.child = child;
        pod.wanted = true;
        let ready = false;
        child.on('message', (m: { type?: string; port?: number }) => {
          if (m?.type !== 'ready') return;
          ready = true;
          if (m.port) pod.port = m.port;
          resolve();
        });
        child.once('exit', (code, signal) => {
          if (pod.child === child) pod.child = null;
          if (!ready) reject(new Error(`${pod.name} exited during start (${signal ?? code})`));
          else if (pod.wanted && !stopping) {
            log(`${pod.name} exited (${signal ?? code}); starting it again in 1 s`);
            pod.restarts++;
            setTimeout(() => {
              if (pod.wanted && !stopping && !pod.child)
                startPod(pod).catch((e: unknown) => log(`${pod.name}: ${(e as Error).message}`));
            }, 1000);
          }
        });
      });
    const stopPod = async (pod: Pod, signal: NodeJS.Signals = 'SIGTERM') => {
      pod.wanted = false;
      const child = pod.child;
      if (!child) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    };
    cleanups.push(async () => {
      stopping = true;
      await Promise.all(pods.map((p) => stopPod(p)));
    });
    const newPod = (name: string, role: Pod['role']): Pod => {
      const pod: Pod = { name, role, child: null, restarts: 0, wanted: true };
      pods.push(pod);
      return pod;
    };
    const workers = [newPod('worker-1', 'worker'), newPod('worker-2', 'worker')];
    const toolsWorker = newPod('tools-worker-1', 'tools-worker');
    const apis = [newPod('api-1', 'api'), newPod('api-2', 'api')];
    log('starting 2 main workers, 1 tools worker, 2 APIs ...');
    for (const pod of [...workers, toolsWorker, ...apis]) await bounded(startPod(pod));
    const lb = await startRelay(() => apis.filter((a) => a.child && a.port).map((a) => a.port!));
    cleanups.push(() => lb.close());
    const apiUrl = `http://127.0.0.1:${lb.port}`;
    log(`APIs on ${apis.map((a) => a.port).join(', ')} behind ${apiUrl}`);

    // ---- the API as a client sees it ----
    const call = (method: string, path: string, body?: unknown) =>
      stackCall<Json>(apiUrl, key, method, path, body, { timeoutMs: 120_000 });
    /** Retries a call that failed on the way (no answer, or 5xx) every second until `deadline`. */
    const retried = async (op: Op, fn: () => Promise<Json>, deadline: number): Promise<Json> => {
      for (;;) {
        try {
          return await fn();
        } catch (e) {
          const status = (e as { status?: number }).status;
          if ((status !== undefined && status < 500) || Date.now() > deadline) throw e;
          op.errors++;
          await sleep(1000);
        }
      }
    };
    const upload = (collectionId: string, from: number, count: number, prefix: string, uploadId?: string) => {
      const form = new FormData();
      for (let i = from; i < from + count; i++)
        form.append('file', new Blob([documentText(i, prefix)], { type: 'text/markdown' }), `${prefix}-${i}.md`);
      const query = uploadId ? `?upload=${uploadId}` : '';
      return call('POST', `/v1/collections/${collectionId}/documents${query}`, form);
    };
    const runEnded = async (op: Op, workflowId: string, deadline: number): Promise<Json> => {
      for (;;) {
        const run = await retried(op, () => call('GET', `/v1/runs/${encodeURIComponent(workflowId)}`), deadline);
        const status = (run.status ?? run.run?.status) as string | undefined;
        if (status && status !== 'running') return run;
        if (Date.now() > deadline) throw new Error(`${workflowId} still running at the deadline`);
        await sleep(1000);
      }
    };

    // ---- setup: collections, the MCP server ----
    const seed = await call('POST', '/v1/collections', { name: 'seed' });
    const load = await call('POST', '/v1/collections', { name: 'load' });
    const seedDocs = 40;
    const seeded = await upload(seed.id as string, 0, seedDocs, 'seed');
    const setupOp: Op = { kind: 'ingest', startedAt: Date.now(), errors: 0 };
    await bounded(runEnded(setupOp, seeded.workflowId as string, Date.now() + 300_000));
    const server = await call('POST', '/v1/mcp/servers', { name: 'notes', transport: 'http', url: mcp.url });
    const tool = (server.tools as Array<{ name: string; definitionHash: string }>).find(
      (t) => t.name === 'append_note',
    );
    if (!tool) throw new Error(`the MCP server's tools: ${JSON.stringify(server.tools)}`);
    await call('POST', `/v1/mcp/servers/${server.server.id}/tools/append_note/approve`, {
      definitionHash: tool.definitionHash,
      sensitive: false,
      idempotent: false,
    });
    log(`seed collection: ${seedDocs} documents; MCP server "notes" registered`);

    // Untimed warm-up: the first calls of each process pay for lazy starts (connections, compiled code paths).
    const warm: Op = { kind: 'answer', startedAt: Date.now(), errors: 0 };
    for (let i = 0; i < 4; i++)
      await call('POST', '/v1/answers?wait=true', {
        question: `What does ${component(i)} replicate?`,
        collectionIds: [seed.id],
      });
    const warmAgent = await call('POST', '/v1/agents/runs', {
      goal: 'Take two notes for agent-warmup.',
      tools: ['notes/append_note'],
    });
    await bounded(runEnded(warm, warmAgent.workflowId as string, Date.now() + 120_000));

    // ---- the load, with faults ----
    const ops: Op[] = [];
    const windows: Window[] = [];
    const D = profile.durationS * 1000;
    const t0 = Date.now();
    const finishBy = t0 + D + 900_000;
    const at = (ms: number) => sleep(Math.max(0, t0 + ms - Date.now()));
    /** One operation of the load, started at `atMs`: `body` sets its run and says how it ended. */
    const operation = async (
      kind: Op['kind'],
      atMs: number,
      body: (op: Op) => Promise<{ outcome: string; ok: boolean }>,
    ) => {
      await at(atMs);
      const op: Op = { kind, startedAt: Date.now(), errors: 0 };
      ops.push(op);
      try {
        Object.assign(op, await body(op));
      } catch (e) {
        op.outcome = `failed: ${(e as Error).message.slice(0, 200)}`;
        op.ok = false;
      }
      op.endedAt = Date.now();
    };
    /** A run started through the API, followed to its end: its status as the outcome, `completed` counting as ok. */
    const followRun = async (op: Op, workflowId: string) => {
      op.runId = workflowId;
      const run = await runEnded(op, workflowId, finishBy);
      const outcome = (run.status ?? run.run?.status) as string;
      return { outcome, ok: outcome === 'completed' };
    };
    const answer = (i: number) =>
      operation('answer', (i * D) / profile.answers, async (op) => {
        const id = crypto.randomUUID();
        op.runId = id;
        const q = component((i * 7) % seedDocs);
        // The same id again after a failed call: the platform answers the one run (its workflow id).
        let res = await retried(
          op,
          () =>
            call('POST', '/v1/answers?wait=true', {
              id,
              question: `How long does ${q} keep records?`,
              collectionIds: [seed.id],
            }),
          finishBy,
        );
        while (res.status === 'running' || res.status === 'pending') {
          res = await retried(op, () => call('GET', `/v1/answers/${id}?wait=true`), finishBy);
        }
        return { outcome: res.status as string, ok: res.status === 'answered' || res.status === 'abstained' };
      });
    const agent = (i: number) =>
      operation('agent', ((i + 0.5) * D) / Math.max(1, profile.agents), async (op) => {
        // A client id makes the start idempotent: a start sent again after a failed call answers the one run.
        const id = crypto.randomUUID();
        const started = await retried(
          op,
          () =>
            call('POST', '/v1/agents/runs', {
              id,
              goal: `Take two notes for agent-${i}.`,
              tools: ['notes/append_note'],
            }),
          finishBy,
        );
        return followRun(op, started.workflowId as string);
      });
    const uploads = Math.ceil(profile.docs / DOCS_PER_UPLOAD);
    // Postgres runs apart from this process tree (pg_ctl starts it as a daemon): its postmaster and backends by pid.
    const postmaster = Number((await readFile(join(db.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const roleOf = (pid: number): string | null => {
      // A process counts for the pod (or server) it runs under: tsx's esbuild under a worker counts as the worker.
      for (let p = pid; p > 1; p = parentOf(p)) {
        const pod = pods.find((x) => x.child?.pid === p);
        if (pod) return pod.role;
        if (p === temporal.child.pid) return 'temporal';
        if (p === postmaster) return 'postgres';
        if (p === process.pid) return 'load driver';
      }
      return null;
    };
    const ingest = (u: number) =>
      operation('ingest', ((u + 0.25) * D) / uploads, async (op) => {
        const from = u * DOCS_PER_UPLOAD;
        // An upload id makes both steps safe to retry: the files are kept by name within the upload, and starting
        // its ingest run again answers the same run.
        const uploadId = crypto.randomUUID();
        await retried(
          op,
          () => upload(load.id as string, from, Math.min(DOCS_PER_UPLOAD, profile.docs - from), 'doc', uploadId),
          finishBy,
        );
        const started = await retried(
          op,
          () => call('POST', `/v1/collections/${load.id}/uploads/${uploadId}/ingest`),
          finishBy,
        );
        return followRun(op, started.workflowId as string);
      });
    const inject = async (fault: Fault, k: number) => {
      await at(((k + 1) * D) / (profile.faults.length + 1));
      const start = Date.now();
      log(`fault: ${fault} at ${((start - t0) / 1000).toFixed(1)} s`);
      if (fault === 'worker') {
        const victim = workers[0]!;
        await stopPod(victim, 'SIGKILL');
        await sleep(5000);
        await startPod(victim);
      } else if (fault === 'temporal') {
        await temporal.restart();
      } else {
        await dbRelay.cut(10_000);
      }
      const healed = Date.now();
      log(`fault: ${fault} over after ${((healed - start) / 1000).toFixed(1)} s`);
      windows.push({ fault, start, healed });
    };
    const probe = sampleProcesses(roleOf);
    log(
      `load: ${profile.docs} documents (${uploads} uploads), ${profile.answers} answers, ${profile.agents} agent runs ` +
        `over ${profile.durationS} s; faults: ${profile.faults.join(', ') || 'none'}`,
    );
    await bounded(
      Promise.all([
        ...Array.from({ length: profile.answers }, (_, i) => answer(i)),
        ...Array.from({ length: profile.agents }, (_, i) => agent(i)),
        ...Array.from({ length: uploads }, (_, u) => ingest(u)),
        ...profile.faults.map((f, k) => inject(f, k)),
      ]),
    );
    const usage = probe.stop();
    const loadS = (Date.now() - t0) / 1000;
    log(`load done in ${loadS.toFixed(1)} s`);

    // ---- checks: in the database and at the MCP server ----
    const check = new pg.Client({ connectionString: directDbUrl });
    await check.connect();
    const one = async (sql: string, params: unknown[] = []) => Number((await check.query(sql, params)).rows[0]?.n ?? 0);
    const docsStored = await one(`select count(*) n from documents where collection_id = $1 and status = 'ready'`, [
      load.id,
    ]);
    const docsDuplicated = await one(
      `select count(*) n from (select source from documents where collection_id = $1 group by source having count(*) > 1) d`,
      [load.id],
    );
    const chunksDuplicated = await one(
      `select count(*) n from (select document_id, ordinal from chunks group by 1, 2 having count(*) > 1) d`,
    );
    const chunks = await one(`select count(*) n from chunks where collection_id = $1`, [load.id]);
    await check.end();
    const byText = new Map<string, number>();
    // The load's notes (the warm-up run's are not counted): `agent-<i> note <n>`.
    const loadCalls = mcp.callsOf('append_note').filter((c) => /^agent-\d+ note /.test(String(c.args.text)));
    for (const c of loadCalls) byText.set(String(c.args.text), (byText.get(String(c.args.text)) ?? 0) + 1);
    const toolCallsDuplicated = [...byText.values()].filter((n) => n > 1).length;
    const lost = ops.filter((o) => o.runId && !o.ok && /still running at the deadline/.test(o.outcome ?? '')).length;

    // ---- report ----
    const kinds = ['answer', 'agent', 'ingest'] as const;
    const latencies = (xs: Op[]) => xs.filter((o) => o.ok && o.endedAt).map((o) => o.endedAt! - o.startedAt);
    const summary = kinds.map((kind) => {
      const xs = ops.filter((o) => o.kind === kind);
      const l = latencies(xs);
      return {
        kind,
        started: xs.length,
        accepted: xs.filter((o) => o.runId).length,
        completed: xs.filter((o) => o.ok).length,
        failed: xs.filter((o) => !o.ok).length,
        retriedCalls: xs.reduce((s, o) => s + o.errors, 0),
        p50: round(percentile(l, 50), 0),
        p95: round(percentile(l, 95), 0),
        outcomes: xs.reduce<Record<string, number>>(
          (m, o) => ((m[o.outcome ?? '?'] = (m[o.outcome ?? '?'] ?? 0) + 1), m),
          {},
        ),
      };
    });
    console.log(
      `\nScale-out run: ${profile.docs} documents, ${profile.answers} answers, ${profile.agents} agent runs over ` +
        `${profile.durationS} s (done in ${loadS.toFixed(0)} s); 2 main workers + 1 tools worker, 2 APIs; ` +
        `Temporal ${TEMPORAL_SERVER_VERSION} on Postgres; model latency ${latencyMs} ms\n`,
    );
    printTable([
      ['operation', 'started', 'accepted', 'completed', 'failed', 'lost', 'calls retried', 'p50 ms', 'p95 ms'],
      ...summary.map((s) => [
        s.kind,
        String(s.started),
        String(s.accepted),
        String(s.completed),
        String(s.failed),
        String(
          ops.filter((o) => o.kind === s.kind && o.runId && /still running at the deadline/.test(o.outcome ?? ''))
            .length,
        ),
        String(s.retriedCalls),
        String(s.p50 ?? '-'),
        String(s.p95 ?? '-'),
      ]),
    ]);
    console.log(
      `\nstored: ${docsStored}/${profile.docs} documents ready, ${chunks} chunks; duplicated documents ${docsDuplicated}, ` +
        `duplicated chunks ${chunksDuplicated}, tool calls received twice ${toolCallsDuplicated} ` +
        `(of ${loadCalls.length}); lost runs ${lost}\n`,
    );
    const phaseRows: string[][] = [['fault', 'window', 'answers', 'p50 ms', 'p95 ms', 'agents p50 ms']];
    const phases: Json[] = [];
    for (const w of windows) {
      const spans: Array<[string, number, number]> = [
        ['before', w.start - 30_000, w.start],
        ['during', w.start, w.healed + 5_000],
        ['after', w.healed + 5_000, w.healed + 35_000],
      ];
      for (const [name, from, to] of spans) {
        const inWindow = (o: Op) => o.startedAt >= from && o.startedAt < to;
        const a = latencies(ops.filter((o) => o.kind === 'answer' && inWindow(o)));
        const g = latencies(ops.filter((o) => o.kind === 'agent' && inWindow(o)));
        phases.push({
          fault: w.fault,
          window: name,
          answers: a.length,
          p50: round(percentile(a, 50), 0),
          p95: round(percentile(a, 95), 0),
          agentP50: round(percentile(g, 50), 0),
        });
        phaseRows.push([
          w.fault,
          name,
          String(a.length),
          String(round(percentile(a, 50), 0) ?? '-'),
          String(round(percentile(a, 95), 0) ?? '-'),
          String(round(percentile(g, 50), 0) ?? '-'),
        ]);
      }
    }
    if (windows.length) printTable(phaseRows);
    console.log('');
    printTable([
      ['process', 'cores', 'peak RSS MB'],
      ...usage.map((u: RoleUsage) => [u.role, u.cores.toFixed(2), String(u.peakRssMb)]),
    ]);

    // ---- throughput with 1, 2, 3 main workers ----
    const throughput: Json[] = [];
    if (profile.throughput) {
      const third = newPod('worker-3', 'worker');
      const answersPerLevel = intFromEnv('SCALE_THROUGHPUT_ANSWERS', 80, 10, 10_000);
      const docsPerLevel = intFromEnv('SCALE_THROUGHPUT_DOCS', 200, 10, 10_000);
      for (const n of [1, 2, 3]) {
        const main = [...workers, third];
        for (const [k, pod] of main.entries()) {
          if (k < n && !pod.child) await startPod(pod);
          if (k >= n && pod.child) await stopPod(pod);
        }
        await sleep(2000);
        const probeN = sampleProcesses(roleOf);
        const t = Date.now();
        let next = 0;
        const lat: number[] = [];
        let failed = 0;
        const op: Op = { kind: 'answer', startedAt: t, errors: 0 };
        await Promise.all(
          Array.from({ length: 20 }, async () => {
            for (let i = next++; i < answersPerLevel; i = next++) {
              const s = Date.now();
              try {
                const res = await retried(
                  op,
                  () =>
                    call('POST', '/v1/answers?wait=true', {
                      question: `What port does ${component(i % seedDocs)} answer on?`,
                      collectionIds: [seed.id],
                    }),
                  Date.now() + 300_000,
                );
                if (res.status === 'answered' || res.status === 'abstained') lat.push(Date.now() - s);
                else failed++;
              } catch {
                failed++;
              }
            }
          }),
        );
        const answerS = (Date.now() - t) / 1000;
        const coll = await call('POST', '/v1/collections', { name: `throughput-${n}` });
        const ti = Date.now();
        const runs: Array<Promise<Json>> = [];
        for (let from = 0; from < docsPerLevel; from += DOCS_PER_UPLOAD) {
          const started = await upload(
            coll.id as string,
            from,
            Math.min(DOCS_PER_UPLOAD, docsPerLevel - from),
            `tp${n}`,
          );
          runs.push(runEnded(op, started.workflowId as string, Date.now() + 900_000));
        }
        await Promise.all(runs);
        const ingestS = (Date.now() - ti) / 1000;
        const u = probeN.stop();
        const row = {
          workers: n,
          answersPerS: round(lat.length / answerS, 2),
          answerP50: round(percentile(lat, 50), 0),
          answerP95: round(percentile(lat, 95), 0),
          answersFailed: failed,
          docsPerS: round(docsPerLevel / ingestS, 1),
          usage: u,
        };
        throughput.push(row);
        log(`throughput with ${n} main worker(s): ${JSON.stringify(row)}`);
      }
      console.log('');
      const roles = ['worker', 'tools-worker', 'api', 'temporal', 'postgres', 'load driver'];
      printTable([
        ['main workers', 'answers/s', 'p50 ms', 'p95 ms', 'docs/s', ...roles.map((r) => `${r} cores`)],
        ...throughput.map((r) => [
          String(r.workers),
          String(r.answersPerS),
          String(r.answerP50),
          String(r.answerP95),
          String(r.docsPerS),
          ...roles.map((role) => (r.usage as RoleUsage[]).find((x) => x.role === role)?.cores.toFixed(2) ?? '-'),
        ]),
      ]);
    }

    // Payload sizes: the histories Temporal keeps per workflow type (SQL visibility records each run's size).
    const visibility = new pg.Client({ connectionString: db.url.replace(/\/postgres$/, '/temporal_visibility') });
    await visibility.connect();
    const histories = (
      await visibility.query(
        `select workflow_type_name as type, count(*)::int as runs, round(avg(history_size_bytes))::int as avg_bytes,
                max(history_size_bytes)::int as max_bytes, round(avg(history_length))::int as avg_events,
                max(history_length)::int as max_events
           from executions_visibility where status <> 1 and workflow_type_name not like 'temporal-sys-%'
          group by 1 order by 4 desc`,
      )
    ).rows as Array<{
      type: string;
      runs: number;
      avg_bytes: number;
      max_bytes: number;
      avg_events: number;
      max_events: number;
    }>;
    await visibility.end();
    console.log('');
    printTable([
      ['workflow type', 'runs', 'avg history KB', 'max history KB', 'avg events', 'max events'],
      ...histories.map((h) => [
        h.type,
        String(h.runs),
        (h.avg_bytes / 1024).toFixed(1),
        (h.max_bytes / 1024).toFixed(1),
        String(h.avg_events),
        String(h.max_events),
      ]),
    ]);

    const restarts = Object.fromEntries(pods.map((p) => [p.name, p.restarts]));
    console.log(`\nprocess restarts after an exit: ${JSON.stringify(restarts)}`);
    const result = {
      profile,
      machine: machineFacts(),
      temporalServer: TEMPORAL_SERVER_VERSION,
      summary,
      stored: {
        docsStored,
        chunks,
        docsDuplicated,
        chunksDuplicated,
        toolCalls: loadCalls.length,
        toolCallsDuplicated,
      },
      lost,
      windows: windows.map((w) => ({
        fault: w.fault,
        atS: round((w.start - t0) / 1000),
        healedAfterS: round((w.healed - w.start) / 1000),
      })),
      phases,
      throughput: throughput.map(({ usage: u, ...r }) => ({
        ...r,
        cores: Object.fromEntries((u as RoleUsage[]).map((x) => [x.role, x.cores])),
      })),
      usage,
      histories,
      restarts,
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
    const bad = [
      lost && `${lost} runs lost`,
      docsDuplicated && `${docsDuplicated} documents stored twice`,
      chunksDuplicated && `${chunksDuplicated} chunks duplicated`,
      toolCallsDuplicated && `${toolCallsDuplicated} tool calls received twice`,
      docsStored !== profile.docs && `${docsStored} of ${profile.docs} documents ready`,
      summary.some((s) => s.failed) && `failed operations: ${summary.map((s) => `${s.kind} ${s.failed}`).join(', ')}`,
    ].filter(Boolean);
    if (bad.length) throw new Error(`the scale-out run found: ${bad.join('; ')}`);
    failed = false;
  } finally {
    lc.dispose();
    await lc.cleanup();
  }
}

runMain(main);
