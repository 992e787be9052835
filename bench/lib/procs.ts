/**
 * CPU and memory of a process tree while a benchmark phase runs, read from /proc (Linux): per role (the launcher
 * with its embedded Postgres, the worker, the API, the Temporal server, ...), the CPU seconds the phase cost, the
 * cores that makes over its wall time, and the peak resident memory seen by sampling.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux this runs on). */
const TICKS = 100;

export interface RoleUsage {
  role: string;
  cpuS: number;
  /** CPU seconds over wall seconds: 1.0 is one core busy the whole phase. */
  cores: number;
  peakRssMb: number;
}

interface Stat {
  ppid: number;
  ticks: number;
}

function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields start after its closing one.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // gone meanwhile
  }
}

function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Every process under `root` (itself included). */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** What a process of `npm start`'s tree is, from its command line. */
export function stackRole(pid: number, launcher: number): string {
  if (pid === launcher) return 'launcher+postgres';
  const cmd = cmdline(pid);
  if (cmd.includes('workers/main.ts')) return 'worker';
  if (cmd.includes('api/server.ts')) return 'api';
  if (/temporal\S* server start-dev/.test(cmd)) return 'temporal';
  return 'other';
}

const roleUsage = (role: string, ticks: number, wallS: number, rssMb: number): RoleUsage => ({
  role,
  cpuS: Number((ticks / TICKS).toFixed(2)),
  cores: Number((ticks / TICKS / wallS).toFixed(2)),
  peakRssMb: Math.round(rssMb),
});

export interface Probe {
  stop(): RoleUsage[];
}

/**
 * Starts measuring: the processes under each root (named by `role`) are listed once now, their CPU read now and at
 * `stop`, their memory sampled every `everyMs`.
 */
export function probeProcesses(roots: number[], role: (pid: number) => string, everyMs = 250): Probe {
  const pids = [...new Set(roots.flatMap(tree))];
  const roles = new Map(pids.map((pid) => [pid, role(pid)]));
  const startTicks = new Map(pids.map((pid) => [pid, stat(pid)?.ticks ?? 0]));
  const peak = new Map<number, number>();
  const sample = () => {
    for (const pid of pids) peak.set(pid, Math.max(peak.get(pid) ?? 0, rssMb(pid)));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  const started = performance.now();
  return {
    stop() {
      clearInterval(timer);
      sample();
      const wallS = (performance.now() - started) / 1000;
      const byRole = new Map<string, { ticks: number; rss: number }>();
      for (const pid of pids) {
        const r = roles.get(pid)!;
        const now = stat(pid)?.ticks ?? startTicks.get(pid)!;
        const acc = byRole.get(r) ?? { ticks: 0, rss: 0 };
        acc.ticks += now - startTicks.get(pid)!;
        acc.rss += peak.get(pid) ?? 0;
        byRole.set(r, acc);
      }
      return [...byRole].map(([r, { ticks, rss }]) => roleUsage(r, ticks, wallS, rss));
    },
  };
}

/**
 * Like `probeProcesses`, for a run whose processes come and go (a killed worker started again, a restarted server,
 * database backends): every `everyMs` all processes are listed and each counted for the role `role` gives it (null:
 * not measured). CPU is what each process used while the probe ran (one that appears later counts from its start;
 * the last interval of one that ends is lost); peak RSS is the highest sum over a role's processes in one sample.
 */
export function sampleProcesses(role: (pid: number) => string | null, everyMs = 1000): Probe {
  const last = new Map<number, { role: string; ticks: number }>();
  const cpuTicks = new Map<string, number>();
  const peak = new Map<string, number>();
  let first = true;
  const sample = () => {
    const rss = new Map<string, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      const s = stat(pid);
      if (!s) continue;
      const seen = last.get(pid);
      const r = seen?.role ?? role(pid);
      if (!r) continue;
      const before = seen ? seen.ticks : first ? s.ticks : 0;
      cpuTicks.set(r, (cpuTicks.get(r) ?? 0) + Math.max(0, s.ticks - before));
      last.set(pid, { role: r, ticks: s.ticks });
      rss.set(r, (rss.get(r) ?? 0) + rssMb(pid));
    }
    for (const [r, mb] of rss) peak.set(r, Math.max(peak.get(r) ?? 0, mb));
    first = false;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  const started = performance.now();
  return {
    stop() {
      clearInterval(timer);
      sample();
      const wallS = (performance.now() - started) / 1000;
      return [...cpuTicks].map(([r, ticks]) => roleUsage(r, ticks, wallS, peak.get(r) ?? 0));
    },
  };
}
