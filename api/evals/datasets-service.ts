import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ANSWER_FRESHNESS, type DatasetItem } from '../../lib/contracts';
import type { Orm } from '../../lib/db/orm';
import { badRequest, notFound } from '../../lib/errors';
import {
  DATASET_CONTENT_TYPES,
  DATASET_FORMATS,
  DATASET_LIMITS,
  canonicalItem,
  normalizeItem,
  parseDatasetFile,
  serializeDataset,
  type DatasetFormat,
  type DatasetItemInput,
} from '../../lib/evals/dataset-format';
import {
  createDataset,
  datasetExists,
  datasetVersion,
  isUniqueViolation,
  loadDatasetItems,
  writeDatasetVersion,
} from '../../lib/evals/datasets-store';
import { actorLabel, type Principal } from '../auth/api-keys';
import { uuid } from '../schemas';

// ---------------------------------------------------------------------------------------------------------------
// Request bodies

/** Items as an API body gives them: either naming style, checked one by one so the error names `items.<n>`. */
const itemList = (path: string, max = DATASET_LIMITS.itemsPerVersion) =>
  z
    .array(z.unknown())
    .max(max)
    .transform((raw) => raw.map((r, i) => normalizeItem(r, `${path}.${i}`, { path: [path, i] })));

const name = z.string().trim().min(1).max(200);
const description = z.string().trim().max(2000);
const note = z.string().trim().max(2000);

export const createDatasetBody = z
  .object({ name, description: description.optional(), note: note.optional(), items: itemList('items') })
  .strict();

export const updateDatasetBody = z
  .object({ name: name.optional(), description: description.optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.description !== undefined, 'give a name or a description');

export const versionBody = z
  .object({
    note: note.optional(),
    items: itemList('items').optional(),
    add: itemList('add').optional(),
    update: itemList('update').optional(),
    remove: z.array(z.string().min(1).max(DATASET_LIMITS.idChars)).max(DATASET_LIMITS.itemsPerVersion).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const patch = b.add !== undefined || b.update !== undefined || b.remove !== undefined;
    if (b.items !== undefined && patch)
      ctx.addIssue({ code: 'custom', message: 'give either items (a full replacement) or add/update/remove' });
    if (b.items === undefined && !patch)
      ctx.addIssue({ code: 'custom', message: 'give items (a full replacement) or add, update or remove' });
    if (b.update?.some((i) => i.id === undefined))
      ctx.addIssue({ code: 'custom', path: ['update'], message: 'an updated item names its id' });
  });

export const importOptions = z
  .object({
    format: z.enum(DATASET_FORMATS).optional(),
    mode: z.enum(['replace', 'append']).default('replace'),
    note: note.optional(),
  })
  .strict();
/** The file inside a JSON body, for clients that cannot send it as text. */
export const importEnvelope = z
  .object({
    format: z.enum(DATASET_FORMATS).optional(),
    mode: z.enum(['replace', 'append']).optional(),
    note: note.optional(),
    content: z.string(),
  })
  .strict();

/** Postgres `integer`: a larger version number is simply not there. */
const MAX_VERSION = 2_147_483_647;

export const itemsQuery = z
  .object({
    version: z.coerce.number().int().min(1).max(MAX_VERSION).optional(),
    offset: z.coerce.number().int().min(0).max(DATASET_LIMITS.itemsPerVersion).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const exportQuery = z
  .object({
    version: z.coerce.number().int().min(1).max(MAX_VERSION).optional(),
    format: z.enum(DATASET_FORMATS).default('jsonl'),
  })
  .strict();

/** What answers `status` may select: the record's status, or `rejected` (an answer a reviewer refused). */
const ANSWER_STATUS_FILTER = ['answered', 'abstained', 'rejected', 'failed', 'pending_review'] as const;
export const MAX_ANSWERS = 1000;

export const fromAnswersBody = z
  .object({
    name: name.optional(),
    description: description.optional(),
    datasetId: uuid.optional(),
    note: note.optional(),
    answerIds: z.array(uuid).min(1).max(MAX_ANSWERS).optional(),
    filter: z
      .object({
        status: z.enum(ANSWER_STATUS_FILTER).optional(),
        collectionId: uuid.optional(),
        since: z.iso.datetime({ offset: true }).optional(),
        until: z.iso.datetime({ offset: true }).optional(),
        freshness: z.enum(ANSWER_FRESHNESS).optional(),
        limit: z.number().int().min(1).max(MAX_ANSWERS).default(100),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.answerIds === undefined) === (b.filter === undefined))
      ctx.addIssue({ code: 'custom', message: 'give answerIds or a filter (one of them)' });
    if (b.datasetId === undefined && b.name === undefined)
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a new dataset needs a name (or give datasetId)' });
    if (b.datasetId !== undefined && (b.name !== undefined || b.description !== undefined))
      ctx.addIssue({ code: 'custom', path: ['datasetId'], message: 'name a new dataset or give datasetId, not both' });
  });

export type CreateDatasetBody = z.infer<typeof createDatasetBody>;
export type UpdateDatasetBody = z.infer<typeof updateDatasetBody>;
export type VersionBody = z.infer<typeof versionBody>;
export type ImportOptions = z.infer<typeof importOptions>;
export type FromAnswersBody = z.infer<typeof fromAnswersBody>;

// ---------------------------------------------------------------------------------------------------------------
// Views

export interface DatasetView {
  id: string;
  name: string;
  description: string;
  latestVersion: number;
  itemCount: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface DatasetVersionView {
  version: number;
  itemCount: number;
  note: string;
  createdBy: string;
  createdAt: string;
}

export interface DatasetDetail extends DatasetView {
  /** Newest first. */
  versions: DatasetVersionView[];
}

/** What a write answers: the dataset, and the version the write made. */
export type DatasetWritten = DatasetDetail & { version: number };

interface DatasetRowSql {
  id: string;
  name: string;
  description: string;
  latest_version: number;
  item_count: number;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (d: Date | string) => new Date(d).toISOString();
const view = (r: DatasetRowSql): DatasetView => ({
  id: r.id,
  name: r.name,
  description: r.description,
  latestVersion: r.latest_version,
  itemCount: r.item_count,
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

/** A file name from a dataset name: letters, digits, dot, dash and underscore. */
const fileName = (datasetName: string, version: number, format: DatasetFormat) =>
  `${datasetName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'dataset'}-v${version}.${format}`;

/** A past answer as a dataset item. */
interface AnswerSql {
  id: string;
  question: string;
  status: string;
  answer: string | null;
  result: Record<string, unknown> | string | null;
}

function itemFromAnswer(a: AnswerSql): DatasetItem {
  const result = (typeof a.result === 'string' ? JSON.parse(a.result) : a.result) as {
    citations?: Array<{ source?: unknown }>;
  } | null;
  const sources = [
    ...new Set(
      (Array.isArray(result?.citations) ? result.citations : [])
        .map((c) => c?.source)
        .filter((s): s is string => typeof s === 'string' && s.length > 0)
        .map((s) => s.slice(0, DATASET_LIMITS.listEntryChars)),
    ),
  ].slice(0, DATASET_LIMITS.listEntries);
  return canonicalItem({
    id: `answer-${a.id}`,
    question: a.question.trim().slice(0, DATASET_LIMITS.questionChars),
    expectedAnswer: a.status === 'answered' && a.answer ? a.answer.slice(0, DATASET_LIMITS.expectedAnswerChars) : null,
    goldSources: sources,
    sourceAnswerId: a.id,
  });
}

/** Items replaced in place by id, new ones appended: what "add these to the version" means. */
function merge(previous: DatasetItem[], added: DatasetItemInput[]): DatasetItemInput[] {
  const byId = new Map(added.filter((i) => i.id !== undefined).map((i) => [i.id!, i]));
  const out: DatasetItemInput[] = previous.map((p) => byId.get(p.id) ?? p);
  const kept = new Set(previous.map((p) => p.id));
  for (const i of added) if (i.id === undefined || !kept.has(i.id)) out.push(i);
  return out;
}

/**
 * The tenant's eval datasets: create, list, read a version's items, edit into new versions (a body of changes or an
 * imported file), export a version as a file, and build datasets from past answers. Versions are immutable
 * (lib/evals/datasets-store.ts); another tenant's dataset reads as missing.
 */
export class DatasetsService {
  constructor(private readonly orm: Orm) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  private sql<T extends object[]>(query: string, params: unknown[] = []) {
    return this.em().getConnection().execute<T>(query, params);
  }

  async list(tenantId: string): Promise<{ datasets: DatasetView[] }> {
    const rows = await this.sql<DatasetRowSql[]>(
      `select d.id, d.name, d.description, d.latest_version, v.item_count, d.created_by, d.created_at, d.updated_at
         from datasets d join dataset_versions v on v.dataset_id = d.id and v.version = d.latest_version
        where d.tenant_id = ? order by d.name`,
      [tenantId],
    );
    return { datasets: rows.map(view) };
  }

  async get(tenantId: string, id: string): Promise<DatasetDetail> {
    const rows = await this.sql<DatasetRowSql[]>(
      `select d.id, d.name, d.description, d.latest_version, v.item_count, d.created_by, d.created_at, d.updated_at
         from datasets d join dataset_versions v on v.dataset_id = d.id and v.version = d.latest_version
        where d.tenant_id = ? and d.id = ?`,
      [tenantId, id],
    );
    if (!rows[0]) throw notFound('Dataset');
    const versions = await this.sql<
      Array<{ version: number; item_count: number; note: string; created_by: string; created_at: Date | string }>
    >(
      `select version, item_count, note, created_by, created_at from dataset_versions
        where dataset_id = ? and tenant_id = ? order by version desc`,
      [id, tenantId],
    );
    return {
      ...view(rows[0]),
      versions: versions.map((v) => ({
        version: v.version,
        itemCount: v.item_count,
        note: v.note,
        createdBy: v.created_by,
        createdAt: iso(v.created_at),
      })),
    };
  }

  /** 404 for a dataset the tenant does not have: checked before a body is read, as for any path id. */
  async assertExists(tenantId: string, id: string): Promise<void> {
    const rows = await this.sql<Array<{ id: string }>>(`select id from datasets where id = ? and tenant_id = ?`, [
      id,
      tenantId,
    ]);
    if (!rows.length) throw notFound('Dataset');
  }

  private async written(tenantId: string, w: { datasetId: string; version: number }): Promise<DatasetWritten> {
    return { ...(await this.get(tenantId, w.datasetId)), version: w.version };
  }

  async create(principal: Principal, body: CreateDatasetBody): Promise<DatasetWritten> {
    const created = await createDataset(this.em(), {
      tenantId: principal.tenantId,
      name: body.name,
      description: body.description,
      note: body.note,
      items: body.items,
      actor: actorLabel(principal),
    });
    return this.written(principal.tenantId, created);
  }

  async update(principal: Principal, id: string, patch: UpdateDatasetBody): Promise<DatasetDetail> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [
      ['name', patch.name],
      ['description', patch.description],
    ] as const) {
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(value);
    }
    try {
      const res = await this.sql<Array<{ id: string }>>(
        `update datasets set ${sets.join(', ')}, updated_at = now() where id = ? and tenant_id = ? returning id`,
        [...params, id, principal.tenantId],
      );
      if (!res.length) throw notFound('Dataset');
    } catch (e) {
      if (isUniqueViolation(e)) throw datasetExists(patch.name ?? '');
      throw e;
    }
    return this.get(principal.tenantId, id);
  }

  /** Its versions and items go with it; eval runs keep their own results. */
  async remove(tenantId: string, id: string): Promise<void> {
    const res = await this.sql<Array<{ id: string }>>(
      `delete from datasets where id = ? and tenant_id = ? returning id`,
      [id, tenantId],
    );
    if (!res.length) throw notFound('Dataset');
  }

  private async version(tenantId: string, id: string, version?: number) {
    const v = await datasetVersion(this.em(), tenantId, id, version);
    if (v) return v;
    if (version !== undefined && (await datasetVersion(this.em(), tenantId, id)))
      throw notFound(`Version ${version} of the dataset`);
    throw notFound('Dataset');
  }

  async items(tenantId: string, id: string, q: z.infer<typeof itemsQuery>) {
    const v = await this.version(tenantId, id, q.version);
    const items = await loadDatasetItems(this.em(), tenantId, v, q);
    return { ...v, offset: q.offset, limit: q.limit, items };
  }

  async newVersion(principal: Principal, id: string, body: VersionBody): Promise<DatasetWritten> {
    const written = await writeDatasetVersion(this.em(), {
      tenantId: principal.tenantId,
      datasetId: id,
      note: body.note,
      actor: actorLabel(principal),
      build: (previous) => {
        if (body.items) return body.items;
        const known = new Set(previous.map((p) => p.id));
        const missing = [...(body.update ?? []).map((i) => i.id!), ...(body.remove ?? [])].filter((i) => !known.has(i));
        if (missing.length)
          throw badRequest(
            'unknown_item_ids',
            `No items with these ids in the latest version: ${missing.join(', ')}.`,
            {
              ids: missing,
            },
          );
        const clash = (body.add ?? []).filter((i) => i.id !== undefined && known.has(i.id)).map((i) => i.id!);
        if (clash.length)
          throw badRequest(
            'duplicate_item_ids',
            `Items with these ids exist already (update them): ${clash.join(', ')}.`,
            {
              ids: clash,
            },
          );
        const updates = new Map((body.update ?? []).map((i) => [i.id!, i]));
        const removed = new Set(body.remove ?? []);
        return [...previous.filter((p) => !removed.has(p.id)).map((p) => updates.get(p.id) ?? p), ...(body.add ?? [])];
      },
    });
    if (!written) throw notFound('Dataset');
    return this.written(principal.tenantId, written);
  }

  /** A file as a new version: its items replace the version's, or (append) are merged in by id. */
  async importFile(
    principal: Principal,
    id: string,
    file: { content: string; format: DatasetFormat; mode: 'replace' | 'append'; note?: string },
  ): Promise<DatasetWritten> {
    const parsed = parseDatasetFile(file.content, file.format);
    const written = await writeDatasetVersion(this.em(), {
      tenantId: principal.tenantId,
      datasetId: id,
      note: file.note ?? `imported ${file.format} (${file.mode})`,
      actor: actorLabel(principal),
      build: (previous) => (file.mode === 'append' ? merge(previous, parsed) : parsed),
    });
    if (!written) throw notFound('Dataset');
    return this.written(principal.tenantId, written);
  }

  async exportFile(
    tenantId: string,
    id: string,
    q: z.infer<typeof exportQuery>,
  ): Promise<{ body: string; contentType: string; fileName: string }> {
    const v = await this.version(tenantId, id, q.version);
    const items = await loadDatasetItems(this.em(), tenantId, v, { offset: 0, limit: DATASET_LIMITS.itemsPerVersion });
    return {
      body: serializeDataset(items, q.format),
      contentType: DATASET_CONTENT_TYPES[q.format],
      fileName: fileName(v.name, v.version, q.format),
    };
  }

  /** The tenant's request answers (never eval or replay runs' own) chosen by id or by a filter, oldest first. */
  private async answers(tenantId: string, body: FromAnswersBody): Promise<AnswerSql[]> {
    const columns = `id, question, status, answer, result, created_at`;
    if (body.answerIds) {
      const ids = [...new Set(body.answerIds)];
      const rows = await this.sql<AnswerSql[]>(
        `select ${columns} from answers where tenant_id = ? and origin = 'request' and id = any(?::uuid[])`,
        [tenantId, `{${ids.join(',')}}`],
      );
      const found = new Map(rows.map((r) => [r.id, r]));
      // Another tenant's id, an eval run's answer and a made-up id read the same.
      const unknown = ids.filter((i) => !found.has(i));
      if (unknown.length)
        throw badRequest('unknown_answers', `No answers with these ids: ${unknown.join(', ')}.`, { ids: unknown });
      return ids.map((i) => found.get(i)!);
    }
    const f = body.filter!;
    const where = [`tenant_id = ?`, `origin = 'request'`];
    const params: unknown[] = [tenantId];
    const and = (condition: string, ...values: unknown[]) => {
      where.push(condition);
      params.push(...values);
    };
    if (f.status === 'rejected') and(`status = 'abstained' and result ->> 'status' = 'rejected'`);
    else if (f.status === 'abstained')
      and(`status = 'abstained' and coalesce(result ->> 'status', 'abstained') <> 'rejected'`);
    else if (f.status) and(`status = ?`, f.status);
    if (f.collectionId) {
      // Cited the collection, or (answers that cited nothing) had its passages in the context they were given.
      const probe = JSON.stringify([{ collectionId: f.collectionId }]);
      and(`(result -> 'citations' @> ?::jsonb or result -> 'context' @> ?::jsonb)`, probe, probe);
    }
    if (f.since) and(`created_at >= ?`, new Date(f.since));
    if (f.until) and(`created_at < ?`, new Date(f.until));
    if (f.freshness) and(`freshness = ?`, f.freshness);
    const rows = await this.sql<AnswerSql[]>(
      `select * from (
         select ${columns} from answers where ${where.join(' and ')} order by created_at desc, id limit ?
       ) newest order by created_at, id`,
      [...params, f.limit],
    );
    if (!rows.length) throw badRequest('no_matching_answers', 'No answers match the filter.', { filter: f });
    return rows;
  }

  /**
   * Past answers as test cases: each becomes `answer-<id>` with its question, its text as the expected answer when it
   * was answered, and the sources it cited as gold sources. A new dataset, or the next version of one (items with the
   * same id are replaced, the rest appended).
   */
  async fromAnswers(principal: Principal, body: FromAnswersBody): Promise<DatasetWritten> {
    const items = (await this.answers(principal.tenantId, body)).map(itemFromAnswer);
    const note = body.note ?? `from ${items.length} past answer${items.length === 1 ? '' : 's'}`;
    if (body.datasetId) {
      const written = await writeDatasetVersion(this.em(), {
        tenantId: principal.tenantId,
        datasetId: body.datasetId,
        note,
        actor: actorLabel(principal),
        build: (previous) => merge(previous, items),
      });
      if (!written) throw notFound('Dataset');
      return this.written(principal.tenantId, written);
    }
    const created = await createDataset(this.em(), {
      tenantId: principal.tenantId,
      name: body.name!,
      description: body.description,
      note,
      items,
      actor: actorLabel(principal),
    });
    return this.written(principal.tenantId, created);
  }
}
