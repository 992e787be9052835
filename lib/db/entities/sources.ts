import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';
import type { SourceConfig, SourceKind, SourceSyncRecord } from '../../sources/types';

/** A source attached to a collection (lib/sources): synced by the `syncSource` job into documents. */
export interface Source {
  id: string;
  tenantId: string;
  collectionId: string;
  kind: SourceKind;
  name: string;
  config: SourceConfig;
  /** Who attached it (actorLabel of the caller). */
  createdBy: string;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
  lastSync?: SourceSyncRecord | null;
}

export const SourceEntity = new EntitySchema<Source>({
  name: 'Source',
  tableName: 'sources',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    collectionId: { type: 'uuid' },
    kind: { type: 'text' },
    name: { type: 'text' },
    config: { type: 'json' },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
    lastSync: { type: 'json', nullable: true },
  },
});

export const sourceEntities = [SourceEntity];
