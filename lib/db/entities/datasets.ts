import { EntitySchema, type Opt } from '@mikro-orm/core';
import type { DatasetItem } from '../../contracts/evals';

/**
 * Eval datasets (issue 19): a named dataset and its immutable versions. An edit writes a whole new version; eval runs
 * record the version they read, so what they scored stays readable.
 */
export interface DatasetRow {
  id: string;
  tenantId: string;
  name: string;
  description: Opt<string>;
  latestVersion: number;
  createdBy: string;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const DatasetEntity = new EntitySchema<DatasetRow>({
  name: 'Dataset',
  tableName: 'datasets',
  properties: {
    id: { type: 'uuid', primary: true },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    description: { type: 'text', default: '' },
    latestVersion: { type: 'integer' },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export interface DatasetVersionRow {
  datasetId: string;
  version: number;
  tenantId: string;
  itemCount: number;
  note: Opt<string>;
  createdBy: string;
  createdAt: Opt<Date>;
}

export const DatasetVersionEntity = new EntitySchema<DatasetVersionRow>({
  name: 'DatasetVersion',
  tableName: 'dataset_versions',
  properties: {
    datasetId: { type: 'uuid', primary: true },
    version: { type: 'integer', primary: true },
    tenantId: { type: 'uuid' },
    itemCount: { type: 'integer' },
    note: { type: 'text', default: '' },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

/** One item of one version, in order; `itemId` repeats `item.id` so it can be unique per version. */
export interface DatasetItemRow {
  datasetId: string;
  version: number;
  ordinal: number;
  tenantId: string;
  itemId: string;
  item: DatasetItem;
}

export const DatasetItemEntity = new EntitySchema<DatasetItemRow>({
  name: 'DatasetItem',
  tableName: 'dataset_items',
  properties: {
    datasetId: { type: 'uuid', primary: true },
    version: { type: 'integer', primary: true },
    ordinal: { type: 'integer', primary: true },
    tenantId: { type: 'uuid' },
    itemId: { type: 'text' },
    item: { type: 'json', columnType: 'jsonb' },
  },
});

export const datasetEntities = [DatasetEntity, DatasetVersionEntity, DatasetItemEntity];
