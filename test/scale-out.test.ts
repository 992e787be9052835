import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/**
 * The scale-out run's short profile (bench/scale-out/run.ts, SCALE_PROFILE=short): the real Temporal server on a real
 * Postgres with pgvector, 2 main workers + 1 tools worker + 2 APIs behind one port, a mixed load (200 documents, 60
 * answers, 10 agent runs) while a worker is SIGKILLed and started again; nothing lost, nothing stored or called twice.
 * The first run on a machine builds the Temporal server from its Go packages (minutes) and may install Debian's
 * PostgreSQL and build pgvector.
 */
const root = fileURLToPath(new URL('..', import.meta.url));

interface ScaleOutResult {
  summary: Array<{ kind: string; started: number; accepted: number; completed: number; failed: number }>;
  stored: {
    docsStored: number;
    chunks: number;
    docsDuplicated: number;
    chunksDuplicated: number;
    toolCalls: number;
    toolCallsDuplicated: number;
  };
  lost: number;
  windows: Array<{ fault: string }>;
  restarts: Record<string, number>;
}

it('runs the short scale-out profile with a worker killed mid-load: nothing lost, nothing duplicated', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/scale-out/run.ts'], {
    cwd: root,
    env: { ...process.env, SCALE_PROFILE: 'short' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const line = /^RESULT (.*)$/m.exec(out)?.[1];
  expect(line, out.slice(-6000)).toBeDefined();
  const result = JSON.parse(line!) as ScaleOutResult;
  expect(code, out.slice(-6000)).toBe(0);

  expect(result.windows.map((w) => w.fault)).toEqual(['worker']);
  expect(result.lost).toBe(0);
  for (const s of result.summary) {
    expect(s.failed, `${s.kind}: ${JSON.stringify(s)}`).toBe(0);
    expect(s.completed).toBe(s.started);
  }
  expect(result.summary.find((s) => s.kind === 'answer')!.completed).toBe(60);
  expect(result.summary.find((s) => s.kind === 'agent')!.completed).toBe(10);
  expect(result.stored).toMatchObject({ docsStored: 200, docsDuplicated: 0, chunksDuplicated: 0 });
  expect(result.stored.chunks).toBeGreaterThanOrEqual(200);
  // Two notes per agent run, each received once.
  expect(result.stored.toolCalls).toBe(20);
  expect(result.stored.toolCallsDuplicated).toBe(0);
}, 1_800_000);
