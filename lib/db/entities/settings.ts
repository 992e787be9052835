import { EntitySchema, type Opt } from '@mikro-orm/core';

/** A tenant's own settings over the platform's configuration; see lib/settings. */
export interface TenantSettingsRow {
  tenantId: string;
  /** The tenant's default model per purpose (`answer`, `judge`, `agent`, `embedding`); a purpose left out follows the platform. */
  models: Record<string, string>;
  /** Days each kind is kept (lib/contracts RETENTION_KINDS); a kind left out is kept forever. */
  retention: Opt<Record<string, number>>;
  updatedAt: Opt<Date>;
  /** Who set them, as the audit log names actors. */
  updatedBy: string;
}

export const TenantSettingsEntity = new EntitySchema<TenantSettingsRow>({
  name: 'TenantSettings',
  tableName: 'tenant_settings',
  properties: {
    tenantId: { type: 'uuid', primary: true },
    models: { type: 'json', columnType: 'jsonb' },
    retention: { type: 'json', columnType: 'jsonb', default: '{}' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
    updatedBy: { type: 'text' },
  },
});

export const settingsEntities = [TenantSettingsEntity];
