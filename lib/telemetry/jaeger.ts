import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, constants, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort, PortTaken, retrying, saysPortInUse } from '../process/ports';
import { streamed } from '../temporal/cli';

const run = promisify(execFile);

/**
 * Jaeger, a stock OTLP receiver with a query API, for checking what the OTLP exporter sends (lib/telemetry/index.ts).
 * v1.75.0 is the module tag of the v2.12.0 release; its `cmd/jaeger` is the v2 binary (an OpenTelemetry collector
 * with Jaeger's storage and query extensions).
 */
export const JAEGER_VERSION = '1.75.0';
const MODULE = 'github.com/jaegertracing/jaeger';
/** Jaeger's go.mod has this `replace`; a module that builds it as a tool carries it over to get the same build. */
const REPLACES = ['github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0'];

/** `$XDG_CACHE_HOME/beyondcloud/jaeger`, else `~/.cache/beyondcloud/jaeger`; builds go in `v<version>/` inside. */
export function jaegerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'beyondcloud', 'jaeger');
}

export class JaegerNotFound extends Error {
  constructor(readonly tried: string[]) {
    super(`Jaeger ${JAEGER_VERSION} could not be found or built. Tried:\n  - ${tried.join('\n  - ')}`);
    this.name = 'JaegerNotFound';
  }
}

async function versionOf(bin: string): Promise<string | null> {
  try {
    await access(bin, constants.X_OK);
    const { stdout, stderr } = await run(bin, ['version'], { timeout: 15_000 });
    return `${stdout}${stderr}`.trim();
  } catch {
    return null;
  }
}

/** A release binary names its tag; a `go build` one names none, so such a binary on PATH is used only as JAEGER_BIN. */
const isPinned = (version: string) => /"gitVersion":"v(1\.75\.0|2\.12\.0)"/.test(version);

async function findOnPath(env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'jaeger');
    if ((await versionOf(candidate)) !== null) return candidate;
  }
  return null;
}

/**
 * Finds Jaeger as the Temporal CLI is found (lib/temporal/cli.ts): JAEGER_BIN, `jaeger` on PATH at the pinned
 * release, the per-user cache, else a build through the Go module proxy. `go install module@version` refuses
 * Jaeger (its go.mod has a `replace`), so the build is a throwaway module that requires it as a tool
 * (`go get -tool`), with that `replace` copied in. It is built in a staging folder and renamed into place, so two
 * concurrent first runs cannot leave a half-written binary. About ten minutes on two cores the first time.
 */
export async function acquireJaeger(
  opts: { cacheDir?: string; log?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const cacheDir = opts.cacheDir ?? jaegerCacheDir(env);
  const tried: string[] = [];

  if (env.JAEGER_BIN) {
    if ((await versionOf(env.JAEGER_BIN)) !== null) return env.JAEGER_BIN;
    throw new JaegerNotFound([`JAEGER_BIN=${env.JAEGER_BIN}: not runnable`]);
  }

  const onPath = await findOnPath(env);
  const pathVersion = onPath ? await versionOf(onPath) : null;
  if (onPath && pathVersion && isPinned(pathVersion)) return onPath;
  tried.push(onPath ? `PATH: ${onPath} is not ${JAEGER_VERSION} (${pathVersion})` : 'PATH: no jaeger');

  const versionDir = join(cacheDir, `v${JAEGER_VERSION}`);
  const cached = join(versionDir, 'jaeger');
  if ((await versionOf(cached)) !== null) return cached;
  tried.push(`cache: ${cached} absent`);

  await mkdir(cacheDir, { recursive: true });
  const staging = await mkdtemp(join(cacheDir, '.go-build-'));
  try {
    log(`Building Jaeger ${JAEGER_VERSION} with Go (about ten minutes the first time, then cached at ${cached})...`);
    const goFlags = `${env.GOFLAGS ?? ''} -mod=mod`.trim();
    const goEnv = { ...env, CGO_ENABLED: env.CGO_ENABLED ?? '0', GOFLAGS: goFlags, GOWORK: 'off' };
    await writeFile(
      join(staging, 'go.mod'),
      `module beyondcloud.local/jaeger-build\n\ngo 1.24.6\n\n${REPLACES.map((r) => `replace ${r}\n`).join('')}`,
    );
    await streamed('go', ['-C', staging, 'get', '-tool', `${MODULE}/cmd/jaeger@v${JAEGER_VERSION}`], goEnv, log);
    await streamed('go', ['-C', staging, 'build', '-o', join(staging, 'jaeger'), `${MODULE}/cmd/jaeger`], goEnv, log);
    await mkdir(versionDir, { recursive: true });
    await rename(join(staging, 'jaeger'), cached);
    log(`Jaeger installed at ${cached}`);
    return cached;
  } catch (e) {
    tried.push(`go build: ${(e as Error).message}`);
    throw new JaegerNotFound(tried);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export interface JaegerProcess {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT: OTLP over HTTP, the exporter posts to `<endpoint>/v1/traces`. */
  otlpEndpoint: string;
  /** The query service: the UI's JSON API (`/api/traces/<id>`, `/api/services`) and `/api/v3/...`. */
  queryUrl: string;
  ports: { otlpHttp: number; queryHttp: number; queryGrpc: number };
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** The smallest all-in-one: an OTLP/HTTP receiver into in-memory storage, and the query service reading it. */
function configYaml(p: JaegerProcess['ports'], maxTraces: number): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${maxTraces}
  jaeger_query:
    # On by default in v2: the query service traces itself to localhost:4317 and waits 10 s on it when stopping.
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${p.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${p.otlpHttp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/**
 * Starts Jaeger on free loopback ports (another port is tried when one was taken in between) and resolves once it
 * says it is ready and its query API answers. The config is passed in an environment variable, no file.
 */
export function startJaeger(opts: { bin: string; timeoutMs?: number; maxTraces?: number }): Promise<JaegerProcess> {
  return retrying(
    async () => launch(opts, { otlpHttp: await freePort(), queryHttp: await freePort(), queryGrpc: await freePort() }),
    5,
    (e) => e instanceof PortTaken,
  );
}

async function launch(
  opts: { bin: string; timeoutMs?: number; maxTraces?: number },
  ports: JaegerProcess['ports'],
): Promise<JaegerProcess> {
  const child = spawn(opts.bin, ['--config', 'env:BC_JAEGER_CONFIG'], {
    env: { ...process.env, BC_JAEGER_CONFIG: configYaml(ports, opts.maxTraces ?? 10_000) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (b: Buffer) => (out = (out + b.toString()).slice(-20_000));
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const queryUrl = `http://127.0.0.1:${ports.queryHttp}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (saysPortInUse(out)) {
        const taken = /listen tcp [\d.]+:(\d+): bind: address already in use/.exec(out)?.[1];
        throw new PortTaken(Number(taken ?? ports.otlpHttp), 'Jaeger');
      }
      throw new Error(`Jaeger exited with ${child.exitCode ?? child.signalCode}:\n${out}`);
    }
    if (out.includes('Everything is ready') && (await answers(`${queryUrl}/api/services`))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Jaeger was not ready within ${opts.timeoutMs ?? 30_000} ms:\n${out}`);
    }
    await sleep(100);
  }
  return { otlpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`, queryUrl, ports, child, output: () => out, stop };
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}
