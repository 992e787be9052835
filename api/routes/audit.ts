import { Readable } from 'node:stream';
import { Router } from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES } from '../../lib/contracts/audit';
import { badRequest } from '../../lib/errors';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { AuditService, type AuditFilter } from '../audit/service';
import { pageSize, uuid } from '../schemas';

const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'must be an ISO date or date-time',
});

const filterFields = {
  actor: z.string().min(1).max(300).optional(),
  actorType: z.enum(AUDIT_ACTOR_TYPES).optional(),
  action: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?$/, 'must be an action (keys.revoke) or a prefix (keys.*)')
    .max(200)
    .optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  route: z
    .string()
    .regex(/^\/[A-Za-z0-9_:/.-]{0,300}$/, 'must be a route pattern such as /v1/keys/:id/revoke')
    .optional(),
  target: z.string().min(1).max(200).optional(),
  from: instant.optional(),
  to: instant.optional(),
  /** A platform admin reads another tenant's log with it. */
  tenantId: uuid.optional(),
};

/** The parsed query as the service's filter, the times as dates. */
function toFilter({ from, to, ...rest }: { from?: string; to?: string } & Omit<AuditFilter, 'from' | 'to'>) {
  const filter: AuditFilter = { ...rest, from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined };
  if (filter.from && filter.to && filter.from > filter.to)
    throw badRequest('invalid_range', '`from` must not be after `to`.');
  return filter;
}

export const listQuery = z
  .object({
    ...filterFields,
    pageSize,
    pageToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, 'is not a page token from this API')
      .optional(),
  })
  .strict();
export const exportQuery = z.object(filterFields).strict();

/** Marks the request as an audited read before the role check, so a refused attempt is kept too. */
const audited =
  (action: string): Middleware<AuthState> =>
  (ctx, next) => {
    ctx.state.audit = { ...ctx.state.audit, action };
    return next();
  };

/** What the entry of a read records: the filters (never secret), and the tenant read when it is another's. */
const describeRead = (filter: AuditFilter, tenantId: string, own: string) => ({
  targets: tenantId === own ? undefined : { tenant: tenantId },
  detail: {
    filters: Object.fromEntries(
      Object.entries(filter)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v] as const),
    ),
  },
});

/** The tenant's audit log (admins): a page at a time, or everything as JSON lines. Reading it is audited. */
export function auditRoutes({ orm }: AppDeps) {
  const audit = new AuditService(orm);
  const router = new Router<AuthState>({ prefix: '/v1/audit', sensitive: true });
  const admin = requireRole('admin');

  router.get('/', audited('audit.read'), admin, async (ctx) => {
    const { tenantId: requested, pageSize, pageToken, ...query } = listQuery.parse(ctx.query);
    const filter = toFilter(query);
    const { principal } = ctx.state;
    const tenantId = await audit.readableTenant(principal, requested);
    ctx.state.audit = { ...ctx.state.audit, ...describeRead(filter, tenantId, principal.tenantId) };
    ctx.body = await audit.list(tenantId, filter, { pageSize, pageToken });
  });

  router.get('/export', audited('audit.export'), admin, async (ctx) => {
    const { tenantId: requested, ...query } = exportQuery.parse(ctx.query);
    const filter = toFilter(query);
    const { principal } = ctx.state;
    const tenantId = await audit.readableTenant(principal, requested);
    ctx.state.audit = { ...ctx.state.audit, ...describeRead(filter, tenantId, principal.tenantId) };
    const lines = async function* () {
      for await (const entry of audit.all(tenantId, filter)) yield `${JSON.stringify(entry)}\n`;
    };
    ctx.attachment(`audit-${tenantId}-${new Date().toISOString().slice(0, 10)}.jsonl`);
    ctx.type = 'application/x-ndjson';
    ctx.body = Readable.from(lines());
  });

  return router;
}
