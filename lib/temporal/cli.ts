import { execFile, spawn } from 'node:child_process';
import { access, chmod, constants, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** v1.5.1 is the newest CLI tag that `go install` accepts (later tags carry a `replace` directive). */
export const TEMPORAL_CLI_VERSION = '1.5.1';
/** The server and UI versions that CLI release embeds; a go-installed binary reports its version as 0.0.0-DEV. */
const EMBEDDED_SERVER = 'Server 1.29.1';

export interface AcquireOptions {
  /** TEMPORAL_CLI_PATH: used as it is, no version check beyond being runnable. */
  explicitPath?: string;
  cacheDir: string;
  /** Progress lines ("building the Temporal CLI, this takes minutes the first time"). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Routes to skip, for tests of the fallback order. */
  skip?: Array<'path' | 'cache' | 'go' | 'download'>;
}

export class TemporalCliNotFound extends Error {
  constructor(readonly tried: string[]) {
    super(`Temporal CLI ${TEMPORAL_CLI_VERSION} could not be found or installed. Tried:\n  - ${tried.join('\n  - ')}`);
    this.name = 'TemporalCliNotFound';
  }
}

async function versionOf(bin: string): Promise<string | null> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 15_000 });
    return stdout.trim();
  } catch {
    return null;
  }
}

const isPinned = (version: string) =>
  version.includes(`version ${TEMPORAL_CLI_VERSION} `) || version.includes(`(${EMBEDDED_SERVER},`);

async function findOnPath(env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** Runs a long command (a `go install`), logging that it still runs every 30 s; a failure carries its output's tail. */
export function streamed(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (b: Buffer) => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const ticker = setInterval(() => log(`  ... still running ${cmd} ${args[0] ?? ''}`), 30_000);
    child.on('error', (e) => {
      clearInterval(ticker);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} exited with ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/**
 * Finds a pinned Temporal CLI: TEMPORAL_CLI_PATH, `temporal` on PATH at the pinned version, the per-user cache,
 * `go install` into that cache, then the official release download. Installs are written to a temporary folder
 * and renamed into place, so two concurrent first runs cannot leave a half-written binary.
 */
export async function acquireTemporalCli(opts: AcquireOptions): Promise<string> {
  const log = opts.log ?? (() => {});
  const env = opts.env ?? process.env;
  const skip = new Set(opts.skip ?? []);
  const tried: string[] = [];

  if (opts.explicitPath) {
    const v = await versionOf(opts.explicitPath);
    if (v) return opts.explicitPath;
    tried.push(`TEMPORAL_CLI_PATH=${opts.explicitPath}: not runnable`);
    throw new TemporalCliNotFound(tried);
  }

  if (!skip.has('path')) {
    const onPath = await findOnPath(env);
    const v = onPath ? await versionOf(onPath) : null;
    if (onPath && v && isPinned(v)) return onPath;
    tried.push(
      onPath ? `PATH: ${onPath} is "${v ?? 'not runnable'}", not ${TEMPORAL_CLI_VERSION}` : 'PATH: no temporal',
    );
  }

  const versionDir = join(opts.cacheDir, `v${TEMPORAL_CLI_VERSION}`);
  const cached = join(versionDir, 'temporal');
  if (!skip.has('cache')) {
    const v = await versionOf(cached);
    if (v && isPinned(v)) return cached;
    tried.push(`cache: ${cached} ${v ? `is "${v}"` : 'absent'}`);
  }

  await mkdir(opts.cacheDir, { recursive: true });

  if (!skip.has('go')) {
    const staging = await mkdtemp(join(opts.cacheDir, '.go-install-'));
    try {
      log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (takes a few minutes the first time)...`);
      await streamed(
        'go',
        ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`],
        { ...env, GOBIN: staging, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
        log,
      );
      await mkdir(versionDir, { recursive: true });
      await rename(join(staging, 'temporal'), cached);
      log(`Temporal CLI installed at ${cached}`);
      return cached;
    } catch (e) {
      tried.push(`go install: ${(e as Error).message}`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  if (!skip.has('download')) {
    const os = platform() === 'darwin' ? 'darwin' : 'linux';
    const cpu = arch() === 'arm64' ? 'arm64' : 'amd64';
    const url = `https://temporal.download/cli/archive/v${TEMPORAL_CLI_VERSION}?platform=${os}&arch=${cpu}`;
    const staging = await mkdtemp(join(opts.cacheDir, '.download-'));
    try {
      log(`Downloading the Temporal CLI from ${url} ...`);
      const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const archive = join(staging, 'temporal.tar.gz');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(archive, Buffer.from(await res.arrayBuffer()));
      await run('tar', ['-xzf', archive, '-C', staging]);
      await chmod(join(staging, 'temporal'), 0o755);
      await mkdir(versionDir, { recursive: true });
      await rename(join(staging, 'temporal'), cached);
      return cached;
    } catch (e) {
      tried.push(`download ${url}: ${(e as Error).message}`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  throw new TemporalCliNotFound(tried);
}
