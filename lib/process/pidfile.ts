import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Pid files let a new `npm start` recover from a launcher that died by SIGKILL: a child it left behind (the
 * Temporal dev server is a Go binary and cannot watch its parent) is found by pid and its command line, and ended.
 */
interface PidRecord {
  pid: number;
  /** A substring of the process command line that proves the pid was not reused by something else. */
  marker: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export async function writePidFile(file: string, record: PidRecord): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(record));
}

/** Ends the process a stale pid file names, if it is still ours. Returns the pid it ended, if any. */
export async function reapStale(file: string, log: (l: string) => void = () => {}): Promise<number | null> {
  let record: PidRecord;
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as PidRecord;
  } catch {
    return null;
  }
  await rm(file, { force: true });
  const { pid, marker } = record;
  if (!isAlive(pid) || !commandLine(pid).includes(marker)) return null;
  log(`ending process ${pid} left behind by an earlier start (${file})`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 20 && isAlive(pid); i++) await sleep(100);
  return pid;
}
