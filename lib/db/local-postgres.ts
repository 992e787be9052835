/**
 * A real Postgres with pgvector on this machine's loopback, for runs that need more than PGlite's one session (the
 * scale-out run, benchmarks): Debian's PostgreSQL server (the newest /usr/lib/postgresql/<major>, or POSTGRES_BIN_DIR;
 * installed with apt-get when missing and this process may), pgvector built from its source as the Go module proxy
 * serves it when the server has no `vector` extension yet (the README's recipe), then a new cluster in a folder of
 * the caller's on a free port, trust authentication on loopback only.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { installDebian } from '../process/debian';
import { freePort } from '../process/ports';
import { streamed } from '../temporal/cli';

const run = promisify(execFile);

/** The pgvector release built from source when the server has none (the README's recipe). */
export const PGVECTOR_VERSION = 'v0.8.1';
/** The Debian PostgreSQL major installed when the machine has none (Debian 12's). */
const DEBIAN_MAJOR = 15;

export interface PostgresBinaries {
  /** The folder with initdb, pg_ctl, postgres and pg_config. */
  binDir: string;
  major: number;
}

const hasServer = (dir: string) => ['initdb', 'pg_ctl', 'postgres', 'pg_config'].every((b) => existsSync(join(dir, b)));

function findServer(): PostgresBinaries | null {
  const explicit = process.env.POSTGRES_BIN_DIR;
  if (explicit) {
    if (!hasServer(explicit))
      throw new Error(`POSTGRES_BIN_DIR ${explicit} has no initdb, pg_ctl, postgres, pg_config`);
    return { binDir: explicit, major: 0 };
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .map(Number)
    .filter((n) => Number.isInteger(n) && hasServer(join(root, String(n), 'bin')))
    .sort((a, b) => b - a);
  const [major] = majors;
  return major === undefined ? null : { binDir: join(root, String(major), 'bin'), major };
}

const pgConfig = async (bin: PostgresBinaries, flag: string) =>
  (await run(join(bin.binDir, 'pg_config'), [flag])).stdout.trim();

/**
 * The server binaries with pgvector installed into them: found, else Debian's packages installed (root or
 * password-less sudo), and pgvector built and installed when the server lacks it (needs the server headers,
 * postgresql-server-dev-<major>, installed the same way, and write access to the server's folders).
 */
export async function acquirePostgres(log: (l: string) => void = () => {}): Promise<PostgresBinaries> {
  let bin = findServer();
  if (!bin) {
    const problem = await installDebian([`postgresql-${DEBIAN_MAJOR}`, `postgresql-server-dev-${DEBIAN_MAJOR}`], log);
    bin = findServer();
    if (!bin)
      throw new Error(
        `no PostgreSQL server here (${problem ?? 'not found after installing'}); run: apt-get install -y ` +
          `postgresql-${DEBIAN_MAJOR} postgresql-server-dev-${DEBIAN_MAJOR} (or set POSTGRES_BIN_DIR)`,
      );
  }
  const sharedir = await pgConfig(bin, '--sharedir');
  if (!existsSync(join(sharedir, 'extension', 'vector.control'))) await buildPgvector(bin, log);
  return bin;
}

async function buildPgvector(bin: PostgresBinaries, log: (l: string) => void): Promise<void> {
  const include = await pgConfig(bin, '--includedir-server');
  if (!existsSync(join(include, 'postgres.h'))) {
    const major = bin.major || DEBIAN_MAJOR;
    const problem = await installDebian([`postgresql-server-dev-${major}`], log);
    if (problem || !existsSync(join(include, 'postgres.h')))
      throw new Error(
        `pgvector must be built, and the server headers are missing (${problem ?? 'not found after installing'}); ` +
          `run: apt-get install -y postgresql-server-dev-${major}`,
      );
  }
  log(`building pgvector ${PGVECTOR_VERSION} from the Go module proxy's copy of its source (once per machine) ...`);
  const work = await mkdtemp(join(tmpdir(), 'pgvector-'));
  try {
    const gopath = join(work, 'gopath');
    const env = { ...process.env, GOPATH: gopath, GOFLAGS: '-modcacherw', GO111MODULE: 'on' };
    const { stdout } = await run(
      'go',
      ['mod', 'download', '-json', `github.com/pgvector/pgvector@${PGVECTOR_VERSION}`],
      {
        env,
        cwd: work,
        maxBuffer: 16 << 20,
      },
    );
    const source = (JSON.parse(stdout) as { Dir?: string; Error?: string }).Dir;
    if (!source) throw new Error(`go mod download gave no source folder: ${stdout.slice(0, 500)}`);
    const dir = join(work, 'src');
    await cp(source, dir, { recursive: true });
    await chmod(dir, 0o755);
    const make = (args: string[]) =>
      streamed('make', ['-C', dir, `PG_CONFIG=${join(bin.binDir, 'pg_config')}`, ...args], process.env, log);
    await make([]);
    await make(['install']);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface LocalPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication on loopback). */
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server (fast shutdown); the data folder stays. */
  stop: () => Promise<void>;
}

/** initdb and pg_ctl refuse root: as root they run as the `postgres` user Debian's package creates. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

async function runAsServerUser(cmd: string, args: string[]): Promise<string> {
  const [c, a] = asServerUser(cmd, args);
  try {
    const { stdout, stderr } = await run(c, a, { maxBuffer: 16 << 20 });
    return stdout + stderr;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.stdout || err.message).trim()}`);
  }
}

/**
 * A new cluster in `dataDir` (made when it has none), started on a free port (or `port`) listening on 127.0.0.1
 * only, with `settings` as `-c name=value` (e.g. max_connections), and `create extension vector` checked to work.
 */
export async function startLocalPostgres(opts: {
  bin: PostgresBinaries;
  dataDir: string;
  port?: number;
  settings?: Record<string, string | number>;
}): Promise<LocalPostgres> {
  const { bin, dataDir } = opts;
  const asRoot = process.getuid?.() === 0;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await mkdir(dataDir, { recursive: true });
    if (asRoot) {
      // The server runs as `postgres`: it must be able to pass through the folder the caller made (mkdtemp: 0700).
      await chmod(dirname(dataDir), 0o755);
      await run('chown', ['-R', 'postgres:postgres', dataDir]);
    }
    await runAsServerUser(join(bin.binDir, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
  }
  const socketDir = join(dataDir, 'sockets');
  await mkdir(socketDir, { recursive: true });
  if (asRoot) await run('chown', ['postgres:postgres', socketDir]);
  const port = opts.port || (await freePort());
  const settings = Object.entries({ listen_addresses: '127.0.0.1', ...opts.settings })
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const log = join(dataDir, 'server.log');
  if (!existsSync(log)) {
    await writeFile(log, '');
    if (asRoot) await run('chown', ['postgres:postgres', log]);
  }
  await runAsServerUser(join(bin.binDir, 'pg_ctl'), [
    '-D',
    dataDir,
    '-o',
    `-p ${port} -k ${socketDir} ${settings}`,
    '-l',
    log,
    '-w',
    '-t',
    '60',
    'start',
  ]);
  const stop = async () => {
    await runAsServerUser(join(bin.binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => {});
  };
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // The extension is what BeyondCloud's first migration needs: proven here rather than halfway through migrating.
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('create extension if not exists vector');
  } catch (e) {
    await stop();
    throw new Error(`pgvector does not load in the Postgres at ${dataDir}: ${(e as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
  return { url, port, dataDir, stop };
}
