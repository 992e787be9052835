import { EntitySchema, type Opt } from '@mikro-orm/core';

/** A tenant's own settings over the platform's configuration; see lib/settings. */
export interface TenantSettingsRow {
  tenantId: string;
  /** The tenant's default model per purpose (`answer`, `judge`, `agent`, `embedding`); a purpose left out follows the platform. */
  models: Record<string, string>;
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
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
    updatedBy: { type: 'text' },
  },
});

export const settingsEntities = [TenantSettingsEntity];
