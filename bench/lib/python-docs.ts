import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian's python3.11-doc puts the HTML documentation. */
export const DEFAULT_CORPUS = '/usr/share/doc/python3.11/html';

/** The Python 3.11 docs corpus (BENCH_CORPUS_DIR or the default), installing python3.11-doc when the default is missing. */
export function corpusDir(): string {
  const dir = process.env.BENCH_CORPUS_DIR ?? DEFAULT_CORPUS;
  if (existsSync(join(dir, 'library'))) return dir;
  if (process.env.BENCH_CORPUS_DIR) throw new Error(`${dir}/library does not exist`);
  console.error(`${dir} is missing: installing python3.11-doc with apt-get ...`);
  const asRoot = process.getuid?.() === 0;
  const run = (args: string[]) =>
    execFileSync(asRoot ? args[0]! : 'sudo', asRoot ? args.slice(1) : args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 600_000,
    });
  run(['apt-get', 'update']);
  run(['apt-get', 'install', '-y', '--no-install-recommends', 'python3.11-doc']);
  if (!existsSync(join(dir, 'library')))
    throw new Error(`python3.11-doc installed, but ${dir}/library is still missing`);
  return dir;
}
