import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { DatasetItem, DatasetVersionRef } from '../contracts/evals';
import { AppError, badRequest } from '../errors';
import { DATASET_LIMITS, canonicalItem, type DatasetItemInput } from './dataset-format';

/**
 * The one owner of the `datasets`, `dataset_versions` and `dataset_items` rows, for the API and the eval-run
 * activities alike. Versions are immutable: every change writes a whole new version, so an eval run that recorded
 * `{ datasetId, version }` reads the same items for ever (until the dataset is deleted).
 */

export interface DatasetVersionInfo {
  datasetId: string;
  name: string;
  version: number;
  itemCount: number;
}

const sql = <T extends object[] = object[]>(em: EntityManager, query: string, params: unknown[] = []) =>
  em.getConnection().execute<T>(query, params, 'all', em.getTransactionContext());

/** A page of one version's items, in their order. Another tenant's dataset reads as empty. */
export async function loadDatasetItems(
  em: EntityManager,
  tenantId: string,
  ref: DatasetVersionRef,
  page: { offset: number; limit: number },
): Promise<DatasetItem[]> {
  const rows = await sql<Array<{ item: DatasetItem | string }>>(
    em,
    `select item from dataset_items
      where tenant_id = ? and dataset_id = ? and version = ?
      order by ordinal offset ? limit ?`,
    [tenantId, ref.datasetId, ref.version, Math.max(0, page.offset), Math.max(0, page.limit)],
  );
  return rows.map((r) => (typeof r.item === 'string' ? (JSON.parse(r.item) as DatasetItem) : r.item));
}

/** A version of a dataset (the latest when none is asked for); null for a missing one or another tenant's. */
export async function datasetVersion(
  em: EntityManager,
  tenantId: string,
  datasetId: string,
  version?: number,
): Promise<DatasetVersionInfo | null> {
  const rows = await sql<Array<{ id: string; name: string; version: number; item_count: number }>>(
    em,
    `select d.id, d.name, v.version, v.item_count
       from datasets d
       join dataset_versions v on v.dataset_id = d.id and v.version = coalesce(?::int, d.latest_version)
      where d.id = ? and d.tenant_id = ?`,
    [version ?? null, datasetId, tenantId],
  );
  const r = rows[0];
  return r ? { datasetId: r.id, name: r.name, version: r.version, itemCount: r.item_count } : null;
}

const ITEM_NUMBER = /^item-(\d{1,15})$/;

/**
 * Ids for the items given without one: `item-<n>`, n past every `item-<n>` the dataset ever held (in any version)
 * and every one given now, so a new item never takes the id of a removed one (experiments pair items by id).
 */
async function assignIds(em: EntityManager, datasetId: string, items: DatasetItemInput[]): Promise<DatasetItem[]> {
  if (items.every((i) => i.id !== undefined)) return items as DatasetItem[];
  const rows = await sql<Array<{ n: string | null }>>(
    em,
    `select max((substring(item_id from '^item-([0-9]{1,15})$'))::bigint)::text as n
       from dataset_items where dataset_id = ?`,
    [datasetId],
  );
  let next = Number(rows[0]?.n ?? 0);
  for (const i of items) {
    const m = i.id ? ITEM_NUMBER.exec(i.id) : null;
    if (m) next = Math.max(next, Number(m[1]));
  }
  return items.map((i) => (i.id !== undefined ? (i as DatasetItem) : canonicalItem({ ...i, id: `item-${++next}` })));
}

function checkItems(items: DatasetItem[]) {
  if (items.length > DATASET_LIMITS.itemsPerVersion)
    throw badRequest(
      'too_many_items',
      `A dataset version holds at most ${DATASET_LIMITS.itemsPerVersion} items; this one would hold ${items.length}.`,
      { max: DATASET_LIMITS.itemsPerVersion, count: items.length },
    );
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const i of items) (seen.has(i.id) ? repeated : seen).add(i.id);
  if (repeated.size)
    throw badRequest('duplicate_item_ids', `Item ids must be unique in a version: ${[...repeated].join(', ')}.`, {
      ids: [...repeated],
    });
}

async function insertVersion(
  em: EntityManager,
  v: { tenantId: string; datasetId: string; version: number; items: DatasetItem[]; note: string; actor: string },
) {
  await sql(
    em,
    `insert into dataset_versions (dataset_id, version, tenant_id, item_count, note, created_by) values (?, ?, ?, ?, ?, ?)`,
    [v.datasetId, v.version, v.tenantId, v.items.length, v.note, v.actor],
  );
  if (!v.items.length) return;
  // One parameter for the whole version: 10,000 rows would pass Postgres's 65,535 bound parameters as columns.
  await sql(
    em,
    `insert into dataset_items (dataset_id, version, ordinal, tenant_id, item_id, item)
     select ?, ?, (e.ord - 1)::int, ?, e.value ->> 'id', e.value
       from jsonb_array_elements(?::jsonb) with ordinality as e(value, ord)`,
    [v.datasetId, v.version, v.tenantId, JSON.stringify(v.items)],
  );
}

/** Raw statements fail with the driver's error (SQLSTATE 23505), the ORM's own with its exception type. */
export const isUniqueViolation = (e: unknown) =>
  e instanceof UniqueConstraintViolationException || (e as { code?: unknown } | null)?.code === '23505';

/** A new dataset and its version 1. A name the tenant uses already: 409 `dataset_exists`. */
export async function createDataset(
  em: EntityManager,
  d: { tenantId: string; name: string; description?: string; items: DatasetItemInput[]; note?: string; actor: string },
): Promise<{ datasetId: string; version: number; itemCount: number }> {
  const datasetId = randomUUID();
  try {
    return await em.transactional(async (tx) => {
      await sql(
        tx,
        `insert into datasets (id, tenant_id, name, description, latest_version, created_by) values (?, ?, ?, ?, 1, ?)`,
        [datasetId, d.tenantId, d.name, d.description ?? '', d.actor],
      );
      const items = await assignIds(tx, datasetId, d.items);
      checkItems(items);
      await insertVersion(tx, { ...d, datasetId, version: 1, items, note: d.note ?? '' });
      return { datasetId, version: 1, itemCount: items.length };
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw datasetExists(d.name);
    throw e;
  }
}

export const datasetExists = (name: string) =>
  new AppError({
    code: 'dataset_exists',
    message: `A dataset named "${name}" exists already.`,
    status: 409,
    category: 'conflict',
  });

/**
 * The next version of a dataset: `build` gets the latest version's items and returns the new version's (items
 * without an id get one). The dataset row is locked meanwhile, so two edits at once make two versions, one after the
 * other. Null when the tenant has no such dataset.
 */
export async function writeDatasetVersion(
  em: EntityManager,
  v: {
    tenantId: string;
    datasetId: string;
    note?: string;
    actor: string;
    build: (previous: DatasetItem[]) => DatasetItemInput[] | Promise<DatasetItemInput[]>;
  },
): Promise<{ datasetId: string; version: number; itemCount: number } | null> {
  return em.transactional(async (tx) => {
    const rows = await sql<Array<{ latest_version: number }>>(
      tx,
      `select latest_version from datasets where id = ? and tenant_id = ? for update`,
      [v.datasetId, v.tenantId],
    );
    const latest = rows[0]?.latest_version;
    if (latest === undefined) return null;
    const previous = await loadDatasetItems(
      tx,
      v.tenantId,
      { datasetId: v.datasetId, version: latest },
      { offset: 0, limit: DATASET_LIMITS.itemsPerVersion },
    );
    const items = await assignIds(tx, v.datasetId, await v.build(previous));
    checkItems(items);
    const version = latest + 1;
    await insertVersion(tx, { ...v, version, items, note: v.note ?? '' });
    await sql(tx, `update datasets set latest_version = ?, updated_at = now() where id = ?`, [version, v.datasetId]);
    return { datasetId: v.datasetId, version, itemCount: items.length };
  });
}
