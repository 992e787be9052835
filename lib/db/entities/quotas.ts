import { EntitySchema, type Opt } from '@mikro-orm/core';

/** A tenant's own limits over the platform defaults (QUOTA_*), set by a platform admin; see lib/quota. */
export interface TenantQuota {
  tenantId: string;
  /** Only the overridden limits, by name (lib/quota QuotaLimits); a name left out follows the default. */
  limits: Record<string, number>;
  updatedAt: Opt<Date>;
  /** Who set them, as the audit log names actors (`name (bc_abc…)` or an email). */
  updatedBy: string;
}

export const TenantQuotaEntity = new EntitySchema<TenantQuota>({
  name: 'TenantQuota',
  tableName: 'tenant_quotas',
  properties: {
    tenantId: { type: 'uuid', primary: true },
    limits: { type: 'json', columnType: 'jsonb' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
    updatedBy: { type: 'text' },
  },
});

export const quotaEntities = [TenantQuotaEntity];
