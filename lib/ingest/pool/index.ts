import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import parseAndChunk, { type ParseOutcome, type ParseTask } from './task';

export type { ParseOutcome, ParseTask } from './task';

/**
 * Parsing and chunking on worker threads (piscina), so a worker process's documents use every core while its main
 * thread runs the activities, the embedding and the database calls. `threads: 0` parses on the calling thread.
 * The threads load the TypeScript task through tsx, as the processes themselves do.
 */
export class ParsePool {
  private readonly pool: Piscina | null;

  constructor(threads: number) {
    this.pool =
      threads > 0
        ? new Piscina({
            filename: fileURLToPath(new URL('./task.ts', import.meta.url)),
            minThreads: 1,
            maxThreads: threads,
            idleTimeout: 60_000,
            execArgv: ['--import', 'tsx'],
          })
        : null;
  }

  get threads(): number {
    return this.pool?.options.maxThreads ?? 0;
  }

  /** Tasks the threads have finished (0 inline). */
  get completed(): number {
    return this.pool?.completed ?? 0;
  }

  /** The document's chunks and title, or why it cannot be read. */
  run(task: ParseTask, signal?: AbortSignal): Promise<ParseOutcome> {
    if (!this.pool) return parseAndChunk(task);
    const bytes = task.bytes.slice(); // a copy of its own, moved to the thread: the caller's buffer may be pooled
    return this.pool.run({ ...task, bytes }, { transferList: [bytes.buffer], signal }) as Promise<ParseOutcome>;
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
