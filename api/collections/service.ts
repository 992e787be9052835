import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import type { Client } from '@temporalio/client';
import { workflowIds, type IngestProgress } from '../../lib/contracts';
import type { Config } from '../../lib/config';
import { CollectionEntity, DocumentEntity, type Collection, type Document } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { MINILM_L6, localEmbeddingDimensions } from '../../lib/llm/local-models';
import { Quotas } from '../../lib/quota';
import type { BlobStore, StoredBlob } from '../../lib/storage/blobs';
import { ingestCollection, ingestProgressQuery } from '../../workflows/ingest';
import type { QuotaService } from '../quota/service';
import { startRun } from '../runs/start';
import { isUuid } from '../schemas';

/** Known embedding sizes; other models need `embeddingDim` in the request. */
const KNOWN_DIMS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

const MAX_FOLDER_FILES = 10_000;

export const payloadTooLarge = (message: string) =>
  new AppError({ code: 'payload_too_large', message, status: 413, category: 'user' });

export interface NewCollection {
  name: string;
  description?: string;
  embeddingModel?: string;
  embeddingDim?: number;
  embeddingType: 'vector' | 'halfvec';
  chunkSize: number;
  chunkOverlap: number;
  combineSections: boolean;
}

/** A file the request stored in the blob store. */
export interface ReceivedFile {
  filename: string;
  mimeType: string;
  blob: StoredBlob;
}

export type PublicDocument = ReturnType<typeof publicDocument>;

const publicDocument = (d: Document) => ({
  id: d.id,
  collectionId: d.collectionId,
  sourceKind: d.sourceKind,
  source: d.source,
  title: d.title ?? null,
  mimeType: d.mimeType ?? null,
  sizeBytes: d.sizeBytes === null || d.sizeBytes === undefined ? null : Number(d.sizeBytes),
  status: d.status,
  error: d.error ?? null,
  chunkCount: d.chunkCount,
  contentHash: d.contentHash ?? null,
  indexedAt: d.indexedAt ?? null,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

/** Collections and their documents of one tenant at a time: create, add sources and ingest them, list, delete. */
export class CollectionsService {
  private readonly quotas: Quotas;

  constructor(
    private readonly temporal: Client,
    private readonly orm: Orm,
    private readonly config: Config,
    private readonly blobs: BlobStore,
    /** Admits each run start within the tenant's quotas. */
    private readonly runQuotas?: QuotaService,
  ) {
    this.quotas = new Quotas(orm, config);
  }

  /**
   * Before a request's files are read: a tenant at its documents limit, or one whose bytes the request's length would
   * take past its limit, is refused (429 storage_quota_exceeded) without storing anything. The length includes the
   * multipart framing (a few hundred bytes per file), so near the limit this errs on refusing; the exact check of
   * the files' sizes follows when they are stored (upsertDocuments).
   */
  async checkStorage(tenantId: string, bytes: number): Promise<void> {
    await this.quotas.checkStorage(tenantId, { documents: 1, bytes: Number.isFinite(bytes) ? bytes : 0 });
  }

  async create(tenantId: string, body: NewCollection): Promise<Collection> {
    const model = body.embeddingModel ?? this.config.llm.models.embedding;
    const dim = this.embeddingSize(model, body.embeddingDim);
    const em = this.orm.em.fork();
    if (await em.count(CollectionEntity, { tenantId, name: body.name })) {
      throw new AppError({
        code: 'collection_exists',
        message: `A collection named "${body.name}" exists already.`,
        status: 409,
        category: 'conflict',
      });
    }
    const c = em.create(CollectionEntity, {
      id: randomUUID(),
      tenantId,
      name: body.name,
      description: body.description ?? null,
      embeddingModel: model,
      embeddingDim: dim,
      embeddingType: body.embeddingType,
      chunkSize: body.chunkSize,
      chunkOverlap: body.chunkOverlap,
      combineSections: body.combineSections,
    });
    await em.flush();
    return c;
  }

  /** The tenant's collections with their document and chunk counts, oldest first. */
  async list(tenantId: string) {
    const rows = (await this.orm.em.getConnection().execute(
      `select c.*, count(d.id)::int as document_count, coalesce(sum(d.chunk_count), 0)::int as chunk_count
         from collections c left join documents d on d.collection_id = c.id
        where c.tenant_id = ? group by c.id order by c.created_at`,
      [tenantId],
    )) as Array<Record<string, unknown>>;
    return {
      collections: rows.map((r) => ({
        id: r.id,
        name: r.name,
        description: r.description,
        embeddingModel: r.embedding_model,
        embeddingDim: r.embedding_dim,
        embeddingType: r.embedding_type,
        chunkSize: r.chunk_size,
        chunkOverlap: r.chunk_overlap,
        combineSections: r.combine_sections,
        documentCount: r.document_count,
        chunkCount: r.chunk_count,
        createdAt: r.created_at,
      })),
    };
  }

  /** The tenant's collection; another tenant's id is "not found", like a missing one. */
  async own(tenantId: string, id: string): Promise<Collection> {
    if (!isUuid(id)) throw notFound('Collection');
    const c = await this.orm.em.fork().findOne(CollectionEntity, { id, tenantId });
    if (!c) throw notFound('Collection');
    return c;
  }

  async delete(c: Collection): Promise<void> {
    await this.orm.em.fork().nativeDelete(CollectionEntity, { id: c.id, tenantId: c.tenantId });
  }

  async documents(c: Collection, status?: Document['status']): Promise<{ documents: PublicDocument[] }> {
    const docs = await this.orm.em
      .fork()
      .find(
        DocumentEntity,
        { tenantId: c.tenantId, collectionId: c.id, ...(status ? { status } : {}) },
        { orderBy: { createdAt: 'asc' } },
      );
    return { documents: docs.map(publicDocument) };
  }

  /** Uploaded files (already in the blob store) become documents, ingested by a new run. */
  async addUploads(c: Collection, files: ReceivedFile[]): Promise<{ workflowId: string; documents: PublicDocument[] }> {
    if (!files.length) throw badRequest('no_files', 'Send one or more files as multipart/form-data.');
    // One document per name: a name sent twice in one upload is the last part, as a later upload of it would be.
    const byName = new Map(files.map((f) => [f.filename, f]));
    const docs = await this.upsertDocuments(
      c,
      [...byName.values()].map((f) => ({
        sourceKind: 'upload' as const,
        source: f.filename,
        title: f.filename,
        mimeType: f.mimeType,
        sizeBytes: f.blob.size,
        blobSha256: f.blob.sha256,
      })),
    );
    return { workflowId: await this.startIngest(c, docs), documents: docs.map(publicDocument) };
  }

  /** URLs (each once) become documents, ingested by a new run. */
  async addUrls(c: Collection, urls: string[]): Promise<{ workflowId: string; documents: PublicDocument[] }> {
    const docs = await this.upsertDocuments(
      c,
      [...new Set(urls)].map((u) => ({ sourceKind: 'url' as const, source: u })),
    );
    return { workflowId: await this.startIngest(c, docs), documents: docs.map(publicDocument) };
  }

  /** Every file under a folder inside one of INGEST_FOLDER_ROOTS (never a path outside them); too large ones are left out. */
  async addFolder(
    c: Collection,
    path: string,
  ): Promise<{ workflowId: string; documents: PublicDocument[]; skippedTooLarge: string[] }> {
    const { maxFileBytes, folderRoots } = this.config.ingest;
    const root = await allowedFolder(path, folderRoots);
    const files = await listFolder(root, MAX_FOLDER_FILES);
    if (!files.length) throw badRequest('empty_folder', `No files under ${path}.`);
    const stored = [];
    for (const file of files) {
      if (file.size > maxFileBytes) continue; // too large: left out, listed below
      stored.push({ file, blob: await this.blobs.put(c.tenantId, createReadStream(file.path), maxFileBytes) });
    }
    const docs = await this.upsertDocuments(
      c,
      stored.map(({ file, blob }) => ({
        sourceKind: 'folder' as const,
        source: file.path,
        title: basename(file.path),
        sizeBytes: blob.size,
        blobSha256: blob.sha256,
      })),
    );
    const skipped = files.filter((f) => f.size > maxFileBytes).map((f) => f.path);
    if (!docs.length) throw payloadTooLarge(`Every file under ${path} is larger than the ${maxFileBytes}-byte limit.`);
    return {
      workflowId: await this.startIngest(c, docs),
      documents: docs.map(publicDocument),
      skippedTooLarge: skipped,
    };
  }

  /** Every document of the collection ingested again by a new run. */
  async reingest(c: Collection): Promise<{ workflowId: string; documents: number }> {
    const docs = await this.orm.em
      .fork()
      .find(DocumentEntity, { tenantId: c.tenantId, collectionId: c.id }, { fields: ['id'] });
    if (!docs.length) throw badRequest('no_documents', 'The collection has no documents.');
    return { workflowId: await this.startIngest(c, docs), documents: docs.length };
  }

  async deleteDocument(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw notFound('Document');
    const deleted = await this.orm.em.fork().nativeDelete(DocumentEntity, { id, tenantId });
    if (!deleted) throw notFound('Document');
  }

  /** An ingest run of the tenant: its status and progress (the result once it completed). */
  async ingestStatus(
    tenantId: string,
    workflowId: string,
  ): Promise<{ workflowId: string; status: string; progress: IngestProgress | null }> {
    if (!workflowId.startsWith(`ingest:${tenantId}:`)) throw notFound('Ingest run');
    try {
      const handle = this.temporal.workflow.getHandle<typeof ingestCollection>(workflowId);
      const description = await handle.describe();
      const status = description.status.name.toLowerCase();
      let progress: IngestProgress | null = null;
      if (status === 'completed') progress = await handle.result();
      else if (status === 'running') progress = await handle.query(ingestProgressQuery);
      return { workflowId, status, progress };
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError') throw notFound('Ingest run');
      throw e;
    }
  }

  /** The size of `model`'s vectors: a local model's is fixed by its name; an unknown local-* name is refused whatever `given` says. */
  private embeddingSize(model: string, given: number | undefined): number {
    const localSize = localEmbeddingDimensions(model);
    if (localSize === null)
      throw badRequest(
        'unknown_embedding_model',
        `${model} is not a local embedding model; the local ones are local-embed-<dimensions> and ${MINILM_L6.model}.`,
      );
    const { models, embeddingDimensions } = this.config.llm;
    const dim =
      given ?? localSize ?? (model === models.embedding ? embeddingDimensions : undefined) ?? KNOWN_DIMS[model];
    if (dim === undefined || !Number.isInteger(dim))
      throw badRequest(
        'embedding_dim_required',
        `The size of ${model}'s vectors is not known here: give embeddingDim.`,
      );
    if (localSize !== undefined && dim !== localSize)
      throw badRequest('embedding_dim_mismatch', `${model} makes ${localSize}-dimensional vectors, not ${dim}.`);
    return dim;
  }

  private async startIngest(c: Collection, docs: Array<Pick<Document, 'id'>>): Promise<string> {
    const workflowId = workflowIds.ingest(c.tenantId, c.id, randomUUID());
    await startRun(
      this.temporal,
      this.config.temporal.taskQueue,
      ingestCollection,
      {
        workflowId,
        args: [
          {
            tenantId: c.tenantId,
            collectionId: c.id,
            documentIds: docs.map((d) => d.id),
            concurrency: this.config.ingest.concurrency,
          },
        ],
        tenantId: c.tenantId,
        kind: 'ingest',
        collectionId: c.id,
      },
      this.runQuotas,
    );
    return workflowId;
  }

  /** New sources become documents; a source already in the collection is updated and ingested again. */
  private async upsertDocuments(
    c: Collection,
    items: Array<Pick<Document, 'sourceKind' | 'source'> & Partial<Document>>,
  ): Promise<Document[]> {
    const em = this.orm.em.fork();
    const existing = await em.find(DocumentEntity, {
      tenantId: c.tenantId,
      collectionId: c.id,
      source: { $in: items.map((i) => i.source) },
    });
    const bySource = new Map(existing.map((d) => [d.source, d]));
    // Checked before anything is written: new sources add documents, a replaced source its change in size; and the
    // ingest run these documents wait for must be one the tenant may start now.
    await this.runQuotas?.checkRun({ tenantId: c.tenantId, kind: 'ingest' });
    const size = (d: Partial<Document> | undefined) => Number(d?.sizeBytes ?? 0);
    await this.quotas.checkStorage(c.tenantId, {
      documents: items.filter((i) => !bySource.has(i.source)).length,
      bytes: items.reduce((sum, i) => sum + size(i) - size(bySource.get(i.source)), 0),
    });
    const docs = items.map((item) => {
      const doc = bySource.get(item.source);
      if (doc) return em.assign(doc, { ...item, status: doc.status === 'ready' ? 'ready' : 'pending' });
      return em.create(DocumentEntity, {
        id: randomUUID(),
        tenantId: c.tenantId,
        collectionId: c.id,
        metadata: {},
        ...item,
      });
    });
    await em.flush();
    return docs;
  }
}

/** The folder's real path, if it lies inside an allowed root (symbolic links resolved first). */
async function allowedFolder(path: string, roots: string[]): Promise<string> {
  if (!roots.length)
    throw new AppError({
      code: 'folder_ingest_disabled',
      message: 'Folder ingestion is off: set INGEST_FOLDER_ROOTS.',
      status: 403,
      category: 'auth',
    });
  const real = await realpath(path).catch(() => null);
  if (!real || !(await stat(real)).isDirectory())
    throw badRequest('folder_not_found', `${path} is not a folder on the server.`);
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => null);
    if (realRoot && (real === realRoot || real.startsWith(realRoot + sep))) return real;
  }
  throw new AppError({
    code: 'folder_not_allowed',
    message: `${path} is outside INGEST_FOLDER_ROOTS.`,
    status: 403,
    category: 'auth',
  });
}

/** Regular files under `dir` (dot-files and symbolic links skipped), sorted, at most `max`. */
async function listFolder(dir: string, max: number): Promise<Array<{ path: string; size: number }>> {
  const out: Array<{ path: string; size: number }> = [];
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true })).filter(
    (e) => e.isFile() && !e.name.startsWith('.'),
  );
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    if (
      path
        .slice(dir.length)
        .split(sep)
        .some((part) => part.startsWith('.'))
    )
      continue;
    out.push({ path, size: (await stat(path)).size });
    if (out.length > max)
      throw badRequest('folder_too_large', `More than ${max} files under ${dir}; ingest a smaller folder.`);
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
