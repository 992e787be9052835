import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** apt-get as root, or through `sudo -n`; null when neither can install packages here. */
export function aptRunner(): ((args: string[]) => Promise<unknown>) | null {
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

/** Installs Debian packages (once per machine); null when done, else why not in one line. */
export async function installDebian(packages: string[], log: (l: string) => void): Promise<string | null> {
  const apt = aptRunner();
  if (!apt) return 'apt-get needs root here';
  log(`installing ${packages.join(', ')} with apt-get (once per machine) ...`);
  try {
    await apt(['update', '-qq']);
    await apt(['install', '-y', '-qq', ...packages]);
    return null;
  } catch (e) {
    return ((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n').slice(-2).join(' | ');
  }
}
