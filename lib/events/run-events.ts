import type { EntityManager } from '@mikro-orm/postgresql';
import type { RunEvent, RunEventType } from '../contracts';

/**
 * The run event log: what a run reports while it runs (step progress, generated tokens, tool calls), stored in
 * Postgres so that Server-Sent Events survive API restarts and a reconnecting client resumes after the last event id
 * it saw. Activities append; the API reads. Event ids are global and increasing; within one run they are in the order
 * the run produced them (its steps run one after another).
 */
export type StoredRunEvent = RunEvent & { id: number; workflowId: string; createdAt: Date };

export type NewRunEvent<E extends RunEvent = RunEvent> = E & {
  /** Unique within the run's workflow id: an event whose key is stored already is not written again (retries). */
  key?: string;
};

/** Event types that end a run's stream. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set<RunEventType>(['result', 'failed']);

export async function appendRunEvents(
  em: EntityManager,
  tenantId: string,
  workflowId: string,
  events: NewRunEvent[],
): Promise<void> {
  if (!events.length) return;
  const values = events.map(() => '(?, ?, ?, ?::jsonb, ?)').join(', ');
  const params = events.flatMap((e) => [tenantId, workflowId, e.type, JSON.stringify(e.data ?? {}), e.key ?? null]);
  await em.getConnection().execute(
    `insert into run_events (tenant_id, workflow_id, type, data, dedupe_key) values ${values}
       on conflict (workflow_id, dedupe_key) where dedupe_key is not null do nothing`,
    params,
    'run',
  );
}

/** The run's events after `afterId` (0 = from the start), oldest first, at most `limit`. Tenant-scoped. */
export async function readRunEvents(
  em: EntityManager,
  tenantId: string,
  workflowId: string,
  afterId = 0,
  limit = 500,
): Promise<StoredRunEvent[]> {
  const rows = (await em.getConnection().execute(
    `select id, workflow_id, type, data, created_at from run_events
        where tenant_id = ? and workflow_id = ? and id > ? order by id limit ?`,
    [tenantId, workflowId, afterId, limit],
  )) as Array<{
    id: string | number;
    workflow_id: string;
    type: RunEvent['type'];
    data: RunEvent['data'];
    created_at: Date;
  }>;
  // The log holds only what appendRunEvents wrote: a type and the data of that type.
  return rows.map(
    (r) =>
      ({
        id: Number(r.id),
        workflowId: r.workflow_id,
        type: r.type,
        data: r.data,
        createdAt: new Date(r.created_at),
      }) as StoredRunEvent,
  );
}

/**
 * Collects small events (generated tokens) and writes them in batches, so a streamed answer costs a few inserts a
 * second rather than one per token. `flush()` must be awaited before the producer returns.
 */
export class RunEventBuffer {
  private pending: NewRunEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly write: (events: NewRunEvent[]) => Promise<void>,
    private readonly intervalMs = 100,
  ) {}

  /** Consecutive `token` events become one (their texts joined), so a flush writes one row per burst. */
  push(event: NewRunEvent): void {
    const last = this.pending.at(-1);
    if (event.type === 'token' && last?.type === 'token')
      last.data = { ...last.data, text: `${last.data.text}${event.data.text}` };
    else this.pending.push(event);
    this.timer ??= setTimeout(() => void this.drain(), this.intervalMs);
  }

  private drain(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length) {
      this.writing = this.writing.then(() => this.write(batch)).catch((e: unknown) => void (this.failure ??= e));
    }
    return this.writing;
  }

  /** Writes what is pending; rejects if any write failed. */
  async flush(): Promise<void> {
    await this.drain();
    if (this.failure) throw this.failure;
  }
}
