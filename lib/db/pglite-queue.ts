import type { PGlite } from '@electric-sql/pglite';

/**
 * The message queue pglite-socket's server runs every connection's protocol messages through, replacing its own
 * (`QueryQueueManager`, @electric-sql/pglite-socket 0.2.17), which has two known defects (electric-sql/pglite#1046,
 * fixes in open pull requests #977 and #1094):
 *   - it keeps a connection's messages together only inside a transaction, so two connections' extended-protocol
 *     batches (Parse, Bind, Describe, Execute ... Sync, which the `pg` driver sends for every query with parameters)
 *     interleave in PGlite's one backend session: one's Bind meets the other's statement or portal (seen here as
 *     "portal cannot be run", 55000, under 5 concurrent uploads), or, worse, runs it;
 *   - one failed execution leaves it marked busy for good, and nothing runs again.
 * Here a connection owns the session from its first message of an extended batch until the Sync that ends it, and
 * inside a transaction until the transaction ends; meanwhile other connections' messages wait, in order. A message
 * whose execution throws fails alone and the queue goes on. A connection that goes away while it owns the session
 * gets its batch ended (a Sync) and its transaction rolled back, so the others go on.
 */
interface Queued {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

/** Frontend message types that end a batch (Sync) or are one by themselves (a simple Query). */
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
/** Extended-protocol messages: Parse, Bind, Describe, Execute, Close, Flush. */
const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]);
/** A Sync message: type and length 4. */
const SYNC_MESSAGE = new Uint8Array([SYNC, 0, 0, 0, 4]);

export class SessionQueue {
  private queue: Queued[] = [];
  private processing = false;
  /** The connection the session belongs to until its batch or transaction ends; null: whoever is next. */
  private owner: number | null = null;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  /** A connection went away: its waiting messages fail. */
  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((q) => {
      if (q.handlerId !== handlerId) return true;
      q.reject(new Error('Handler disconnected'));
      return false;
    });
  }

  /** A connection went away: if it owned the session, its batch is ended and its transaction rolled back. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    try {
      await this.db.runExclusive(() => this.db.execProtocolRawStream(SYNC_MESSAGE, { onRawData: () => {} }));
      if (this.db.isInTransaction()) await this.db.exec('rollback');
    } catch {
      // The session is past saving for this connection's state; the next one starts from whatever is left.
    }
    this.owner = null;
    await this.process();
  }

  private next(): Queued | undefined {
    if (this.owner === null) return this.queue.shift();
    const i = this.queue.findIndex((q) => q.handlerId === this.owner);
    return i === -1 ? undefined : this.queue.splice(i, 1)[0];
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        const type = item.message[0]!;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item!.message, {
              onRawData: (data) => {
                bytes += data.length;
                item!.onData(data);
              },
            }),
          );
        } catch (e) {
          item.reject(e instanceof Error ? e : new Error(String(e)));
          continue;
        } finally {
          if (type === SYNC || type === QUERY) this.owner = this.db.isInTransaction() ? item.handlerId : null;
          else if (EXTENDED.has(type)) this.owner = item.handlerId;
        }
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}
