import { EntitySchema, type Opt } from '@mikro-orm/core';
import type { AuditActorType, AuditOutcome, AuditVia } from '../../contracts/audit';

/**
 * One entry of the append-only audit log (api/audit/): who did what to which rows, and how it ended. The database
 * refuses every UPDATE and every DELETE but the retention job's (Migration20261202110000_audit).
 */
export interface AuditLogRow {
  /** Identity, so it orders the entries as they were written; a string because it is a bigint. */
  id: Opt<string>;
  /** Null only for an entry no tenant can be told of (none are written today; the column allows platform events). */
  tenantId: string | null;
  at: Opt<Date>;
  actorType: AuditActorType;
  actorId: string | null;
  actorLabel: string | null;
  via: AuditVia;
  action: string;
  method: string;
  route: string | null;
  targetIds: Record<string, string>;
  status: number;
  outcome: AuditOutcome;
  ip: string | null;
  userAgent: string | null;
  traceId: string | null;
  mcpTool: string | null;
  detail: Record<string, unknown>;
}

export const AuditLogEntity = new EntitySchema<AuditLogRow>({
  name: 'AuditLog',
  tableName: 'audit_log',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    tenantId: { type: 'uuid', nullable: true },
    at: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
    actorType: { type: 'text' },
    actorId: { type: 'text', nullable: true },
    actorLabel: { type: 'text', nullable: true },
    via: { type: 'text' },
    action: { type: 'text' },
    method: { type: 'text' },
    route: { type: 'text', nullable: true },
    targetIds: { type: 'json', default: '{}' },
    status: { type: 'integer' },
    outcome: { type: 'text' },
    ip: { type: 'text', nullable: true },
    userAgent: { type: 'text', nullable: true },
    traceId: { type: 'text', nullable: true },
    mcpTool: { type: 'text', nullable: true },
    detail: { type: 'json', default: '{}' },
  },
});

export const auditEntities: EntitySchema[] = [AuditLogEntity as EntitySchema];
