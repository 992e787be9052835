import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuditActorType, AuditEntry, AuditOutcome } from '../../lib/contracts/audit';
import { AuditLogEntity, TenantEntity, type AuditLogRow } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { badRequest, notFound } from '../../lib/errors';
import { actorLabel, type Principal } from '../auth/api-keys';

export type NewAuditEntry = Omit<AuditLogRow, 'id' | 'at'> & { at?: Date };

/** Appends one entry; with `ignoreDuplicate`, an entry a unique index already holds is skipped (key use). */
export async function appendAuditEntry(orm: Orm, entry: NewAuditEntry, opts: { ignoreDuplicate?: boolean } = {}) {
  const qb = orm.em
    .fork()
    .createQueryBuilder(AuditLogEntity)
    .insert({ ...entry, at: entry.at ?? new Date() });
  if (opts.ignoreDuplicate) qb.onConflict().ignore();
  await qb.execute('run');
}

/** The clock hour a key's use is recorded for: at most one `key.use` entry per key and hour (a unique index). */
export const keyUseHour = (at: Date) => at.toISOString().slice(0, 13);

/** Records that a key was used, once per key and clock hour, across processes; a later use in the hour is a no-op. */
export async function recordKeyUse(
  orm: Orm,
  principal: Principal,
  request: Pick<NewAuditEntry, 'via' | 'method' | 'route' | 'status' | 'ip' | 'userAgent' | 'traceId' | 'mcpTool'>,
  at = new Date(),
) {
  await appendAuditEntry(
    orm,
    {
      ...request,
      at,
      tenantId: principal.tenantId,
      actorType: 'key',
      actorId: principal.keyId,
      actorLabel: actorLabel(principal),
      action: 'key.use',
      targetIds: principal.keyId ? { key: principal.keyId } : {},
      outcome: 'success',
      detail: { hour: keyUseHour(at) },
    },
    { ignoreDuplicate: true },
  );
}

export interface AuditFilter {
  /** An actor's id (key or user) or its label, exactly. */
  actor?: string;
  actorType?: AuditActorType;
  /** Exactly, or every action under a prefix with `keys.*`. */
  action?: string;
  outcome?: AuditOutcome;
  /** A route pattern, exactly (`/v1/keys/:id/revoke`). */
  route?: string;
  /** An id among the entry's targets. */
  target?: string;
  from?: Date;
  to?: Date;
}

const PAGE_TOKEN_CHECK_BYTES = 8;
const pageTokenCheck = (tenantId: string, id: string) =>
  createHash('sha256').update(`audit-page:${tenantId}:${id}`).digest().subarray(0, PAGE_TOKEN_CHECK_BYTES);
const invalidPageToken = () =>
  badRequest('invalid_page_token', 'pageToken is not a page token this list handed out; list again without it.');

/** The last id of a page with a check bound to the tenant, so a token of another tenant (or a made-up one) is refused. */
function encodePageToken(tenantId: string, lastId: string) {
  return Buffer.concat([Buffer.from(lastId), pageTokenCheck(tenantId, lastId)]).toString('base64url');
}

function decodePageToken(tenantId: string, token: string): string {
  const raw = Buffer.from(token, 'base64url');
  const id = raw.subarray(0, -PAGE_TOKEN_CHECK_BYTES).toString();
  if (
    raw.length <= PAGE_TOKEN_CHECK_BYTES ||
    !/^[1-9][0-9]{0,18}$/.test(id) ||
    !timingSafeEqual(raw.subarray(-PAGE_TOKEN_CHECK_BYTES), pageTokenCheck(tenantId, id))
  )
    throw invalidPageToken();
  return id;
}

const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;

type Row = Record<string, unknown>;

const toEntry = (r: Row): AuditEntry => ({
  id: String(r.id),
  tenantId: (r.tenant_id as string | null) ?? null,
  at: new Date(r.at as string | Date).toISOString(),
  actorType: r.actor_type as AuditActorType,
  actorId: (r.actor_id as string | null) ?? null,
  actorLabel: (r.actor_label as string | null) ?? null,
  via: r.via as AuditEntry['via'],
  action: r.action as string,
  method: r.method as string,
  route: (r.route as string | null) ?? null,
  targets: json(r.target_ids) as Record<string, string>,
  status: Number(r.status),
  outcome: r.outcome as AuditOutcome,
  ip: (r.ip as string | null) ?? null,
  userAgent: (r.user_agent as string | null) ?? null,
  traceId: (r.trace_id as string | null) ?? null,
  mcpTool: (r.mcp_tool as string | null) ?? null,
  detail: json(r.detail) as Record<string, unknown>,
});
const json = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : (v ?? {}));

/** Reads of one tenant's audit log, newest first; every query is scoped by the tenant. */
export class AuditService {
  constructor(private readonly orm: Orm) {}

  /**
   * The tenant whose log the caller reads: its own; another only for a platform admin. Another tenant's id, for
   * anyone else, is "not found" exactly like a missing one.
   */
  async readableTenant(principal: Principal, requested?: string): Promise<string> {
    if (!requested || requested === principal.tenantId) return principal.tenantId;
    if (!principal.platformAdmin) throw notFound('Tenant');
    const tenant = await this.orm.em.fork().findOne(TenantEntity, { id: requested });
    if (!tenant) throw notFound('Tenant');
    return tenant.id;
  }

  async list(
    tenantId: string,
    filter: AuditFilter,
    page: { pageSize: number; pageToken?: string },
  ): Promise<{ entries: AuditEntry[]; nextPageToken: string | null }> {
    const before = page.pageToken ? decodePageToken(tenantId, page.pageToken) : undefined;
    const rows = await this.page(tenantId, filter, before, page.pageSize + 1);
    const entries = rows.slice(0, page.pageSize);
    const more = rows.length > page.pageSize;
    return { entries, nextPageToken: more ? encodePageToken(tenantId, entries.at(-1)!.id) : null };
  }

  /** Every matching entry, newest first, read a page at a time so an export of any size holds one page in memory. */
  async *all(tenantId: string, filter: AuditFilter, pageSize = 500): AsyncGenerator<AuditEntry> {
    let before: string | undefined;
    for (;;) {
      const rows = await this.page(tenantId, filter, before, pageSize);
      yield* rows;
      if (rows.length < pageSize) return;
      before = rows.at(-1)!.id;
    }
  }

  private async page(tenantId: string, f: AuditFilter, beforeId: string | undefined, limit: number) {
    const where = ['tenant_id = ?'];
    const params: unknown[] = [tenantId];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (beforeId) add('id < ?', beforeId);
    if (f.actor) add('(actor_id = ? or actor_label = ?)', f.actor, f.actor);
    if (f.actorType) add('actor_type = ?', f.actorType);
    if (f.action?.endsWith('.*')) add(`action like ? escape '\\'`, likePrefix(f.action.slice(0, -1)));
    else if (f.action) add('action = ?', f.action);
    if (f.outcome) add('outcome = ?', f.outcome);
    if (f.route) add('route = ?', f.route);
    if (f.target) add('exists (select 1 from jsonb_each_text(target_ids) t where t.value = ?)', f.target);
    if (f.from) add('at >= ?', f.from);
    if (f.to) add('at <= ?', f.to);
    const rows = (await this.orm.em
      .getConnection()
      .execute(
        `select * from audit_log where ${where.join(' and ')} order by id desc limit ?`,
        [...params, limit],
        'all',
      )) as Row[];
    return rows.map(toEntry);
  }
}
