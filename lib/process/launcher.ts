import { readFileSync } from 'node:fs';

/**
 * npm does not pass SIGTERM on to a script here: `kill -TERM <pid of npm start>` ends npm and leaves the stack running
 * under init. A process started by npm therefore watches the npm process that launched it and stops when that one is
 * gone. Linux only (/proc); elsewhere, and when not started by npm, nothing is watched.
 */
function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split at the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 0 ? ppid : null;
  } catch {
    return null;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** This process's ancestors, nearest first, up to (not including) init. */
export function ancestors(pid = process.pid): number[] {
  const chain: number[] = [];
  for (let p = parentOf(pid); p !== null && p > 1 && chain.length < 64; p = parentOf(p)) chain.push(p);
  return chain;
}

/** The npm process that ran this one as a script, if any: the nearest ancestor whose command is npm's. */
export function npmAncestor(env: NodeJS.ProcessEnv = process.env): number | null {
  if (!env.npm_lifecycle_event) return null;
  // npm sets its title to `npm <command>`; without a title it is `node .../npm-cli.js <command>`.
  return ancestors().find((pid) => /(^|[\s/])npm(-cli\.js)?(\s|$)/.test(commandLine(pid))) ?? null;
}

/**
 * Calls `onGone` once when the npm process that launched this one has ended (it is no longer among this process's
 * ancestors, so a reused pid cannot fool it). Returns a function that stops watching.
 */
export function watchNpmLauncher(onGone: () => void, intervalMs = 500): () => void {
  const npm = npmAncestor();
  if (npm === null) return () => {};
  const timer = setInterval(() => {
    if (!ancestors().includes(npm)) {
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
