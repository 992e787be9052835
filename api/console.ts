import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The console's static build, served by the API at `/`. */
export const consoleDir = join(root, 'ui', 'dist');

/** The newest modification time of the console's sources. */
function newestSource(): number {
  const ui = join(root, 'ui');
  let newest = Math.max(statSync(join(ui, 'index.html')).mtimeMs, statSync(join(ui, 'vite.config.ts')).mtimeMs);
  for (const entry of readdirSync(join(ui, 'src'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds the console (ui/) when there is no build or its sources changed since; used by `npm start` and tests. */
export async function ensureConsoleBuilt(log: (line: string) => void = () => {}): Promise<void> {
  const built = join(consoleDir, 'index.html');
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource()) return;
  log('building the console (ui/)...');
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [vite, 'build', '--config', join(root, 'ui', 'vite.config.ts'), '--logLevel', 'warn'],
      {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`building the console failed (exit ${code})`)),
    );
  });
}
