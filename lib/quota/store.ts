import { TenantEntity, TenantQuotaEntity } from '../db/entities';
import type { Orm } from '../db/orm';
import { tokensUsedToday } from '../llm/usage';
import { parseOverrides, type QuotaOverrides } from './limits';

export interface StoredOverrides {
  overrides: QuotaOverrides;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** A run-start window's count after an attempt to take one start from it. */
export interface RunWindow {
  admitted: boolean;
  /** Starts counted in the current minute (after this one when admitted). */
  runs: number;
  windowStart: Date;
  /** Seconds until the window ends. */
  secondsLeft: number;
}

/**
 * What the quotas read and write in the database: the tenants' overrides, the per-minute counters of runs started
 * (shared by every API process: the count is atomic in Postgres), and the usage measured from the stores' own rows
 * (documents, `llm_calls`).
 */
export class QuotaStore {
  constructor(private readonly orm: Orm) {}

  async tenantExists(tenantId: string): Promise<boolean> {
    return (await this.orm.em.fork().count(TenantEntity, { id: tenantId })) > 0;
  }

  async overrides(tenantId: string): Promise<StoredOverrides> {
    const row = await this.orm.em.fork().findOne(TenantQuotaEntity, { tenantId });
    return {
      overrides: parseOverrides(row?.limits),
      updatedAt: row?.updatedAt ?? null,
      updatedBy: row?.updatedBy ?? null,
    };
  }

  async setOverrides(tenantId: string, overrides: QuotaOverrides, updatedBy: string): Promise<void> {
    await this.orm.em.getConnection().execute(
      `insert into tenant_quotas (tenant_id, limits, updated_at, updated_by) values (?, ?::jsonb, now(), ?)
       on conflict (tenant_id) do update set limits = excluded.limits, updated_at = now(), updated_by = excluded.updated_by`,
      [tenantId, JSON.stringify(overrides), updatedBy],
    );
  }

  /** Documents stored in the tenant's collections and their bytes (a URL's document counts once it is fetched). */
  async storage(tenantId: string): Promise<{ documents: number; bytes: number }> {
    const rows = (await this.orm.em.getConnection().execute(
      `select count(*)::bigint as documents, coalesce(sum(size_bytes), 0)::bigint as bytes
         from documents where tenant_id = ?`,
      [tenantId],
    )) as Array<{ documents: string | number; bytes: string | number }>;
    return { documents: Number(rows[0]?.documents ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
  }

  tokensToday(tenantId: string): Promise<number> {
    return tokensUsedToday(this.orm, tenantId);
  }

  /**
   * Counts one run start in the tenant's current minute, unless `limit` (> 0) starts are counted there already.
   * Windows are whole minutes of the database's clock, so every API process counts in the same one; a burst across a
   * minute's boundary can start up to twice the limit within 60 seconds.
   */
  async takeRunStart(tenantId: string, limit: number): Promise<RunWindow> {
    const conn = this.orm.em.getConnection();
    const taken = (await conn.execute(
      `insert into quota_run_windows as w (tenant_id, window_start, runs) values (?, date_trunc('minute', now()), 1)
       on conflict (tenant_id, window_start) do update set runs = w.runs + 1 where ? = 0 or w.runs < ?
       returning w.runs, w.window_start, extract(epoch from w.window_start + interval '1 minute' - now()) as secs_left`,
      [tenantId, limit, limit],
    )) as Array<{ runs: number; window_start: Date; secs_left: string | number }>;
    if (taken[0]) {
      // A new window: the tenant's old ones go.
      if (taken[0].runs === 1)
        await conn.execute(
          `delete from quota_run_windows where tenant_id = ? and window_start < now() - interval '1 hour'`,
          [tenantId],
        );
      return { admitted: true, ...this.window(taken[0]) };
    }
    return { admitted: false, ...(await this.currentWindow(tenantId)) };
  }

  /** Gives back a start taken for a run that then could not be started. */
  async returnRunStart(tenantId: string, windowStart: Date): Promise<void> {
    await this.orm.em
      .getConnection()
      .execute(`update quota_run_windows set runs = runs - 1 where tenant_id = ? and window_start = ? and runs > 0`, [
        tenantId,
        windowStart,
      ]);
  }

  /** Runs started by the tenant in the current minute. */
  async runsThisMinute(tenantId: string): Promise<number> {
    return (await this.currentWindow(tenantId)).runs;
  }

  /** The tenant's current minute: its starts and the seconds left. */
  async currentWindow(tenantId: string): Promise<Omit<RunWindow, 'admitted'>> {
    const rows = (await this.orm.em.getConnection().execute(
      `select coalesce(w.runs, 0) as runs, m.start as window_start,
              extract(epoch from m.start + interval '1 minute' - now()) as secs_left
         from (select date_trunc('minute', now()) as start) m
         left join quota_run_windows w on w.tenant_id = ? and w.window_start = m.start`,
      [tenantId],
    )) as Array<{ runs: number; window_start: Date; secs_left: string | number }>;
    return this.window(rows[0]!);
  }

  private window(r: { runs: number; window_start: Date; secs_left: string | number }) {
    return { runs: Number(r.runs), windowStart: new Date(r.window_start), secondsLeft: Number(r.secs_left) };
  }
}
