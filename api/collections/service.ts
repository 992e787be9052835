import type { TenantSettings } from '../../lib/settings';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import type { Client } from '@temporalio/client';
import { workflowIds, type IngestProgress } from '../../lib/contracts';
import type { Config } from '../../lib/config';
import { ChunkEntity, CollectionEntity, DocumentEntity, type Collection, type Document } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { MINILM_L6, localEmbeddingDimensions } from '../../lib/llm/local-models';
import { Quotas } from '../../lib/quota';
import type { BlobStore, StoredBlob } from '../../lib/storage/blobs';
import { allowedFolder } from '../../lib/sources/folder';
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

/** The answers listed under a document, newest first. */
const CITING_ANSWERS_LIMIT = 50;

export const payloadTooLarge = (message: string) =>
  new AppError({ code: 'payload_too_large', message, status: 413, category: 'user' });

/** Documents added: the run that ingests them, or, within an upload, none yet (its run starts at its end). */
export type AddedDocuments =
  | { workflowId: string; documents: PublicDocument[] }
  | { workflowId: null; upload: string; documents: PublicDocument[] };

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
  /** The ingest run that last took the document (a collection's run, or its own re-ingest); null before any. */
  lastIngestWorkflowId: lastIngestOf(d),
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

const lastIngestOf = (d: Pick<Document, 'metadata'>): string | null => {
  const id = d.metadata?.lastIngest;
  return typeof id === 'string' ? id : null;
};

/** A document's display name: its title, else the last part of its source (a file name or a URL's path). */
const nameOf = (d: Pick<Document, 'title' | 'source'>): string =>
  d.title ||
  d.source
    .replace(/[?#].*$/, '')
    .replace(/\/+$/, '')
    .split('/')
    .pop() ||
  d.source;

export interface ChunkPage {
  chunks: Array<{
    id: string;
    ordinal: number;
    headingPath: string[];
    page: number | null;
    tokens: number;
    text: string;
  }>;
  total: number;
  offset: number;
  limit: number;
}

export interface CitingAnswer {
  id: string;
  question: string;
  status: string;
  groundingScore: number | null;
  createdAt: string;
  /** This document's passages among the answer's citations, by their number in the answer. */
  citations: Array<{ n: number; chunkId: string; page: number | null; headingPath: string[] }>;
}

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
    /** The tenants' default models: a new collection without `embeddingModel` takes the tenant's embedder. */
    private readonly settings?: TenantSettings,
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
    const model =
      body.embeddingModel ?? (await this.settings?.models(tenantId))?.embedding ?? this.config.llm.models.embedding;
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

  /**
   * Uploaded files (already in the blob store) become documents, ingested by a new run; or, within an upload
   * (`upload`), kept for that upload's one run, started by `startUpload` once every file is sent.
   */
  async addUploads(c: Collection, files: ReceivedFile[], upload?: string): Promise<AddedDocuments> {
    if (!files.length) throw badRequest('no_files', 'Send one or more files as multipart/form-data.');
    if (upload) await this.refuseStartedUpload(c, upload);
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
    return this.ingestOrKeep(c, docs, upload);
  }

  /** URLs (each once) become documents, ingested by a new run, or kept for an upload's run like files. */
  async addUrls(c: Collection, urls: string[], upload?: string): Promise<AddedDocuments> {
    if (upload) await this.refuseStartedUpload(c, upload);
    const docs = await this.upsertDocuments(
      c,
      [...new Set(urls)].map((u) => ({ sourceKind: 'url' as const, source: u })),
    );
    return this.ingestOrKeep(c, docs, upload);
  }

  /**
   * One ingest run for every document sent within an upload, however many requests carried them. Starting it again
   * (a retried request) answers the same run; documents sent within the upload after it started are refused.
   */
  async startUpload(c: Collection, upload: string): Promise<{ workflowId: string; upload: string; documents: number }> {
    const rows: Array<{ id: string }> = await this.knex()('documents')
      .where({ tenant_id: c.tenantId, collection_id: c.id })
      .whereRaw(`metadata->>'upload' = ?`, [upload])
      .orderBy('created_at')
      .select('id');
    if (!rows.length) throw notFound('Upload');
    const workflowId = this.uploadRunId(c, upload);
    await this.markLastIngest(
      c,
      rows.map((r) => r.id),
      workflowId,
    );
    await this.startIngestRun(
      c,
      rows.map((r) => r.id),
      workflowId,
    );
    return { workflowId, upload, documents: rows.length };
  }

  private uploadRunId(c: Collection, upload: string): string {
    return workflowIds.ingest(c.tenantId, c.id, `upload-${upload}`);
  }

  /** An upload whose run exists (running or ended) takes no more documents: they would never be ingested. */
  private async refuseStartedUpload(c: Collection, upload: string): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(this.uploadRunId(c, upload)).describe();
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError') return;
      throw e;
    }
    throw new AppError({
      code: 'upload_started',
      message: `The upload ${upload} has started its ingest run already; send these documents within a new upload (a new id).`,
      status: 409,
      category: 'user',
    });
  }

  private async ingestOrKeep(c: Collection, docs: Document[], upload?: string): Promise<AddedDocuments> {
    if (!upload) return { workflowId: await this.startIngest(c, docs), documents: docs.map(publicDocument) };
    const ids = docs.map((d) => d.id);
    for (let i = 0; i < ids.length; i += 1000) {
      await this.knex()('documents')
        .where({ tenant_id: c.tenantId, collection_id: c.id })
        .whereIn('id', ids.slice(i, i + 1000))
        .update({ metadata: this.knex().raw(`metadata || jsonb_build_object('upload', ?::text)`, [upload]) });
    }
    return { workflowId: null, upload, documents: docs.map(publicDocument) };
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

  /** The tenant's document; another tenant's id is "not found", like a missing one. */
  async ownDocument(tenantId: string, id: string): Promise<Document> {
    if (!isUuid(id)) throw notFound('Document');
    const d = await this.orm.em.fork().findOne(DocumentEntity, { id, tenantId });
    if (!d) throw notFound('Document');
    return d;
  }

  /** One document with its display name and its collection's name. */
  async document(tenantId: string, id: string) {
    const d = await this.ownDocument(tenantId, id);
    const c = await this.own(tenantId, d.collectionId);
    return { document: { ...publicDocument(d), name: nameOf(d), collectionName: c.name } };
  }

  /** A page of the document's chunks in their order in the document (embeddings left out). */
  async chunks(d: Document, page: { offset: number; limit: number }): Promise<ChunkPage> {
    const em = this.orm.em.fork();
    const where = { tenantId: d.tenantId, documentId: d.id };
    const rows = await em.find(ChunkEntity, where, {
      fields: ['id', 'ordinal', 'headingPath', 'page', 'tokens', 'text'],
      orderBy: { ordinal: 'asc' },
      offset: page.offset,
      limit: page.limit,
    });
    const total = await em.count(ChunkEntity, where);
    return {
      chunks: rows.map((c) => ({
        id: c.id,
        ordinal: c.ordinal,
        headingPath: c.headingPath ?? [],
        page: c.page ?? null,
        tokens: c.tokens,
        text: c.text,
      })),
      total,
      offset: page.offset,
      limit: page.limit,
    };
  }

  /**
   * The tenant's answers whose stored result cites the document, newest first. Matched by the citation's document
   * id rather than its chunk ids: a re-ingest replaces the chunks, and the answers cited the document all the same.
   */
  async citingAnswers(d: Document): Promise<{ answers: CitingAnswer[] }> {
    const rows = (await this.orm.em.getConnection().execute(
      `select id, question, status, grounding_score, created_at, result->'citations' as citations
         from answers
        where tenant_id = ? and result @> cast(? as jsonb)
        order by created_at desc limit ?`,
      [d.tenantId, JSON.stringify({ citations: [{ documentId: d.id }] }), CITING_ANSWERS_LIMIT],
    )) as Array<Record<string, unknown>>;
    return {
      answers: rows.map((r) => ({
        id: r.id as string,
        question: r.question as string,
        status: r.status as string,
        groundingScore: r.grounding_score === null ? null : Number(r.grounding_score),
        createdAt: new Date(r.created_at as string).toISOString(),
        citations: (Array.isArray(r.citations) ? (r.citations as Array<Record<string, unknown>>) : [])
          .filter((c) => c.documentId === d.id)
          .map((c) => ({
            n: Number(c.n),
            chunkId: String(c.chunkId),
            page: typeof c.page === 'number' ? c.page : null,
            headingPath: Array.isArray(c.headingPath) ? c.headingPath.map(String) : [],
          })),
      })),
    };
  }

  /**
   * The document ingested again by a run of its own (an unchanged one is skipped, as in a collection's re-ingest).
   * While the run that last took the document is still going, that run is the answer: asking twice starts one run.
   * The new run is recorded with a compare-and-set on the document, so of two requests racing only one starts it.
   */
  async reingestDocument(d: Document): Promise<{ workflowId: string; documentId: string; started: boolean }> {
    const c = await this.own(d.tenantId, d.collectionId);
    const previous = lastIngestOf(d);
    if (previous && (await this.isRunning(previous))) return { workflowId: previous, documentId: d.id, started: false };
    const workflowId = workflowIds.ingest(c.tenantId, c.id, randomUUID());
    const claimed = await this.knex()('documents')
      .where({ id: d.id, tenant_id: d.tenantId })
      .whereRaw(`metadata->>'lastIngest' is not distinct from ?`, [previous])
      .update({ metadata: this.knex().raw(`metadata || jsonb_build_object('lastIngest', ?::text)`, [workflowId]) });
    if (!claimed) {
      const winner = lastIngestOf(await this.ownDocument(d.tenantId, d.id));
      if (winner) return { workflowId: winner, documentId: d.id, started: false };
    }
    await this.startIngestRun(c, [d.id], workflowId);
    return { workflowId, documentId: d.id, started: true };
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

  /** A new ingest run of the documents, recorded on each of them as the run that last took it. */
  private async startIngest(c: Collection, docs: Array<Pick<Document, 'id'>>): Promise<string> {
    const workflowId = workflowIds.ingest(c.tenantId, c.id, randomUUID());
    const ids = docs.map((d) => d.id);
    await this.markLastIngest(c, ids, workflowId);
    await this.startIngestRun(c, ids, workflowId);
    return workflowId;
  }

  private async markLastIngest(c: Collection, ids: string[], workflowId: string): Promise<void> {
    for (let i = 0; i < ids.length; i += 1000) {
      await this.knex()('documents')
        .where({ tenant_id: c.tenantId, collection_id: c.id })
        .whereIn('id', ids.slice(i, i + 1000))
        .update({ metadata: this.knex().raw(`metadata || jsonb_build_object('lastIngest', ?::text)`, [workflowId]) });
    }
  }

  private knex() {
    return this.orm.em.getConnection().getKnex();
  }

  private async isRunning(workflowId: string): Promise<boolean> {
    try {
      const description = await this.temporal.workflow.getHandle(workflowId).describe();
      return description.status.name === 'RUNNING';
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError') return false;
      throw e;
    }
  }

  private async startIngestRun(c: Collection, documentIds: string[], workflowId: string): Promise<void> {
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
            documentIds,
            concurrency: this.config.ingest.concurrency,
          },
        ],
        tenantId: c.tenantId,
        kind: 'ingest',
        collectionId: c.id,
      },
      this.runQuotas,
    );
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
