import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { retrying } from './ports';

const run = promisify(execFile);

export type AptRunner = (args: string[]) => Promise<unknown>;

/** apt-get as root, or through `sudo -n`; null when neither can install packages here. */
export function aptRunner(): AptRunner | null {
  const hasApt = existsSync('/usr/bin/apt-get');
  if (!hasApt) return null;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (process.getuid?.() === 0) return (args) => run('apt-get', args, { env, timeout: 900_000, maxBuffer: 64 << 20 });
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
    return (args) => run('sudo', ['-n', '-E', 'apt-get', ...args], { env, timeout: 900_000, maxBuffer: 64 << 20 });
  } catch {
    return null;
  }
}

/** The installs of this process, one after another: two apt-gets at once fail on dpkg's lock. */
let installs: Promise<unknown> = Promise.resolve();
/** How long an install waits for dpkg's lock held by another process (apt's own wait, then tries again). */
const LOCK_WAIT_S = 300;
const heldLock = (e: unknown) =>
  /Could not get lock|Unable to acquire the dpkg/i.test(String((e as { stderr?: string }).stderr));

/**
 * Installs Debian packages (once per machine); null when done, else why not in one line. Installs asked for at once
 * run in turn, and one finding dpkg's lock held by another process waits for it.
 */
export function installDebian(
  packages: string[],
  log: (l: string) => void,
  opts: { apt?: AptRunner | null; lockRetryMs?: number } = {},
): Promise<string | null> {
  const apt = opts.apt === undefined ? aptRunner() : opts.apt;
  if (!apt) return Promise.resolve('apt-get needs root here');
  const install = async () => {
    log(`installing ${packages.join(', ')} with apt-get (once per machine) ...`);
    const lock = ['-o', `DPkg::Lock::Timeout=${LOCK_WAIT_S}`];
    const attempt = async () => {
      await apt([...lock, 'update', '-qq']);
      await apt([...lock, 'install', '-y', '-qq', ...packages]);
    };
    try {
      // The lists' lock (apt-get update) is not covered by the timeout: a held one is tried again, a minute apart.
      await retrying(
        attempt,
        5,
        heldLock,
        () => log('  ... dpkg is locked by another apt-get; trying again'),
        opts.lockRetryMs ?? 60_000,
      );
      return null;
    } catch (e) {
      return ((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n').slice(-2).join(' | ');
    }
  };
  const done = installs.then(install, install);
  installs = done;
  return done;
}
