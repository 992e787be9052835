import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, constants, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { streamed } from './cli';

const run = promisify(execFile);

/** The server `temporal.docker-compose.yml` runs (temporalio/server:1.29.1), and the CLI 1.5.1 dev server embeds. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
const MODULE = 'go.temporal.io/server';

/** Where the server binaries are cached: beside the Temporal CLI's cache (TEMPORAL_CLI_CACHE_DIR). */
export const temporalServerCacheDir = (cliCacheDir: string) => join(dirname(cliCacheDir), 'temporal-server');

export interface TemporalServerBinaries {
  server: string;
  /** temporal-sql-tool: creates the databases and applies the versioned schema. */
  sqlTool: string;
  /** schema/postgresql/v12 of the server module, as the Go module proxy serves it. */
  schemaDir: string;
}

async function runnable(bin: string): Promise<boolean> {
  try {
    await access(bin, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Temporal server and its SQL tool built from their Go packages (`go install`, through the module proxy) into
 * `<cacheDir>/v<version>/`, once; the schema files come from the module's source in the Go module cache
 * (`go mod download`). Built in a staging folder and renamed into place, as the CLI is (lib/temporal/cli.ts).
 */
export async function acquireTemporalServer(opts: {
  cacheDir: string;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}): Promise<TemporalServerBinaries> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const dir = join(opts.cacheDir, `v${TEMPORAL_SERVER_VERSION}`);
  const server = join(dir, 'temporal-server');
  const sqlTool = join(dir, 'temporal-sql-tool');
  const { stdout } = await run('go', ['mod', 'download', '-json', `${MODULE}@v${TEMPORAL_SERVER_VERSION}`], {
    env,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 600_000,
  });
  const schemaDir = join((JSON.parse(stdout) as { Dir: string }).Dir, 'schema', 'postgresql', 'v12');
  if ((await runnable(server)) && (await runnable(sqlTool))) return { server, sqlTool, schemaDir };

  await mkdir(opts.cacheDir, { recursive: true });
  const staging = await mkdtemp(join(opts.cacheDir, '.go-install-'));
  try {
    log(`Building the Temporal server ${TEMPORAL_SERVER_VERSION} with go install (a few minutes the first time)...`);
    await streamed(
      'go',
      [
        'install',
        `${MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
        `${MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
      ],
      { ...env, GOBIN: staging, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
      log,
    );
    await mkdir(dir, { recursive: true });
    await rename(join(staging, 'server'), server);
    await rename(join(staging, 'sql'), sqlTool);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { server, sqlTool, schemaDir };
}

/** A Postgres to hold Temporal's two databases (`temporal`, `temporal_visibility`). */
export interface TemporalPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
}

export function parsePostgresUrl(url: string): TemporalPostgres {
  const u = new URL(url);
  if (!/^postgres(ql)?:$/.test(u.protocol)) throw new Error(`not a postgres:// URL: ${u.protocol}`);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password),
  };
}

/**
 * Creates (or upgrades) Temporal's databases with its own SQL tool, as infra/temporal/setup-temporal-postgres.sh
 * does in the compose file and Kubernetes: `create` (an existing database is kept), `setup-schema -v 0.0` (the
 * version tables), `update-schema` (every versioned step not applied yet). Idempotent.
 */
export async function setupTemporalSchema(bin: TemporalServerBinaries, pg: TemporalPostgres): Promise<void> {
  const base = ['--plugin', 'postgres12', '--ep', pg.host, '-p', String(pg.port), '-u', pg.user];
  const env = { ...process.env, SQL_PASSWORD: pg.password };
  for (const [db, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    await run(bin.sqlTool, [...base, '--db', db, 'create'], { env }).catch((e: { stderr?: string }) => {
      if (!/already exists/.test(String(e.stderr))) throw e;
    });
    await run(bin.sqlTool, [...base, '--db', db, 'setup-schema', '-v', '0.0'], { env });
    await run(bin.sqlTool, [...base, '--db', db, 'update-schema', '-d', join(bin.schemaDir, dir, 'versioned')], {
      env,
    });
  }
}

async function bindable(port: number): Promise<number | null> {
  const srv = createServer();
  srv.listen(port, '127.0.0.1');
  const ok = await Promise.race([once(srv, 'listening').then(() => true), once(srv, 'error').then(() => false)]);
  if (!ok) return null;
  const got = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return got;
}

/** A free port. Membership ports are stored in a smallint column (cluster_membership.rpc_port): below 32768. */
async function freePort(below32768 = false): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = await bindable(below32768 ? 20_000 + Math.floor(Math.random() * 12_000) : 0);
    if (port) return port;
  }
  throw new Error('no free port found');
}

export interface TemporalServerProcess {
  address: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
  /** Stops the process and starts it again on the same ports and databases (a server restart). */
  restart: () => Promise<void>;
}

/**
 * Starts the server (frontend, history, matching and worker services in one process, as temporalio/server's image
 * runs them) on Postgres persistence and visibility, with `numHistoryShards` shards and the dynamic config file
 * given (infra/temporal/dynamicconfig.yaml, what the compose file mounts). Every port is a free one unless
 * `frontendPort` is set. Resolves once the frontend answers on its port.
 */
export async function startTemporalServer(opts: {
  bin: TemporalServerBinaries;
  pg: TemporalPostgres;
  dir: string;
  dynamicConfigFile: string;
  frontendPort?: number;
  numHistoryShards?: number;
  timeoutMs?: number;
}): Promise<TemporalServerProcess> {
  const ports = {
    frontend: opts.frontendPort || (await freePort()),
    http: await freePort(),
    history: await freePort(),
    matching: await freePort(),
    worker: await freePort(),
    mFrontend: await freePort(true),
    mHistory: await freePort(true),
    mMatching: await freePort(true),
    mWorker: await freePort(true),
  };
  const store = (db: string, maxConns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "${opts.pg.host}:${opts.pg.port}"
        connectProtocol: tcp
        user: ${JSON.stringify(opts.pg.user)}
        password: ${JSON.stringify(opts.pg.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  const config = `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${opts.numHistoryShards ?? 4}
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:${service(ports.frontend, ports.mFrontend, ports.http)}
  history:${service(ports.history, ports.mHistory)}
  matching:${service(ports.matching, ports.mMatching)}
  worker:${service(ports.worker, ports.mWorker)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:${ports.frontend}
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${JSON.stringify(opts.dynamicConfigFile)}
  pollInterval: 10s
`;
  await mkdir(join(opts.dir, 'config'), { recursive: true });
  await writeFile(join(opts.dir, 'config', 'cluster.yaml'), config);
  const address = `127.0.0.1:${ports.frontend}`;
  let out = '';
  let child!: ChildProcess;
  let exited!: Promise<unknown>;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  const launch = async () => {
    child = spawn(
      opts.bin.server,
      ['--root', opts.dir, '--config', 'config', '--env', 'cluster', '--allow-no-auth', 'start'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const onData = (b: Buffer) => (out = (out + b.toString()).slice(-20_000));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited = once(child, 'exit');
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the Temporal server exited with ${child.exitCode}:\n${out}`);
      if (await portOpen(ports.frontend)) break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the Temporal server did not open ${address}:\n${out}`);
      }
      await sleep(200);
    }
  };
  await launch();
  return {
    address,
    get child() {
      return child;
    },
    output: () => out,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}

/**
 * Registers the namespace and the custom search attributes on a running server with
 * infra/temporal/register-namespace.sh (what the compose file and Kubernetes run), the Temporal CLI `cli` on its PATH.
 */
export async function registerNamespace(opts: {
  cli: string;
  script: string;
  address: string;
  namespace: string;
}): Promise<void> {
  const register = spawn('sh', [opts.script], {
    env: {
      ...process.env,
      PATH: `${dirname(opts.cli)}:${process.env.PATH ?? ''}`,
      TEMPORAL_ADDRESS: opts.address,
      TEMPORAL_NAMESPACE: opts.namespace,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  register.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  register.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const [code] = (await once(register, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`register-namespace.sh exited with ${code}:\n${out}`);
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
