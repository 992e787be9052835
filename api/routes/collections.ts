import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { Router } from '@koa/router';
import Busboy from 'busboy';
import type { Context } from 'koa';
import { z } from 'zod';
import { workflowIds, type IngestProgress } from '../../lib/contracts';
import { startRun } from '../runs/start';
import { CollectionEntity, DocumentEntity, type Document } from '../../lib/db/entities';
import { AppError, badRequest, notFound } from '../../lib/errors';
import { BlobStore, BlobTooLargeError, type StoredBlob } from '../../lib/storage/blobs';
import type { AppDeps } from '../app';
import { requireRole, type AuthState } from '../auth/middleware';
import { invalidCharacters, isValidText } from '../input-guard';
import { MINILM_L6, localEmbeddingDimensions } from '../../lib/llm/local-models';

/** Known embedding sizes; other models need `embeddingDim` in the request. */
const KNOWN_DIMS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

const collectionBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    embeddingModel: z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/).optional(),
    embeddingDim: z.number().int().min(1).max(16_000).optional(),
    /** `halfvec` halves the vector index (and search) size at a small precision cost; stored vectors keep full precision. */
    embeddingType: z.enum(['vector', 'halfvec']).default('vector'),
    chunkSize: z.number().int().min(16).max(8192).default(400),
    chunkOverlap: z.number().int().min(0).max(4000).default(60),
    /** Pack consecutive short sections into one chunk (false: one chunk or more per section). */
    combineSections: z.boolean().default(true),
  })
  .strict()
  .refine((b) => b.chunkOverlap < b.chunkSize / 2, { message: 'chunkOverlap must be less than half of chunkSize', path: ['chunkOverlap'] });

const urlsBody = z
  .object({
    urls: z
      .array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048))
      .min(1)
      .max(1000),
  })
  .strict();

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

/** Collections and their documents: create, upload (streamed), register URLs, list, re-ingest, delete. */
export function collectionsRoutes({ orm, temporal, config }: AppDeps) {
  const blobs = new BlobStore(config.ingest.blobDir);
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  const write = requireRole('admin', 'operator');

  async function ownCollection(tenantId: string, id: string) {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('Collection');
    const c = await orm.em.fork().findOne(CollectionEntity, { id, tenantId });
    if (!c) throw notFound('Collection');
    return c;
  }

  async function startIngest(tenantId: string, collectionId: string, documentIds: string[]) {
    const workflowId = workflowIds.ingest(tenantId, collectionId, crypto.randomUUID());
    await startRun(temporal, config.temporal.taskQueue, {
      workflowType: 'ingestCollection',
      workflowId,
      args: [{ tenantId, collectionId, documentIds, concurrency: config.ingest.concurrency }],
      tenantId,
      kind: 'ingest',
      collectionId,
    });
    return workflowId;
  }

  /** New sources become documents; a source already in the collection is updated and ingested again. */
  async function upsertDocuments(tenantId: string, collectionId: string, items: Array<Pick<Document, 'sourceKind' | 'source'> & Partial<Document>>) {
    const em = orm.em.fork();
    const existing = await em.find(DocumentEntity, { tenantId, collectionId, source: { $in: items.map((i) => i.source) } });
    const bySource = new Map(existing.map((d) => [d.source, d]));
    const docs = items.map((item) => {
      const doc = bySource.get(item.source);
      if (doc) return em.assign(doc, { ...item, status: doc.status === 'ready' ? 'ready' : 'pending' });
      return em.create(DocumentEntity, { id: crypto.randomUUID(), tenantId, collectionId, metadata: {}, ...item });
    });
    await em.flush();
    return docs;
  }

  router.post('/collections', write, async (ctx) => {
    const body = collectionBody.parse(ctx.request.body ?? {});
    const model = body.embeddingModel ?? config.llm.models.embedding;
    // A local model's size is fixed by its name; an unknown local-* name is refused whatever embeddingDim says.
    const localSize = localEmbeddingDimensions(model);
    if (localSize === null) throw badRequest('unknown_embedding_model', `${model} is not a local embedding model; the local ones are local-embed-<dimensions> and ${MINILM_L6.model}.`);
    const dim = body.embeddingDim ?? localSize ?? (model === config.llm.models.embedding ? config.llm.embeddingDimensions : undefined) ?? KNOWN_DIMS[model];
    if (dim === undefined || !Number.isInteger(dim)) throw badRequest('embedding_dim_required', `The size of ${model}'s vectors is not known here: give embeddingDim.`);
    if (localSize !== undefined && dim !== localSize) throw badRequest('embedding_dim_mismatch', `${model} makes ${localSize}-dimensional vectors, not ${dim}.`);
    const em = orm.em.fork();
    const tenantId = ctx.state.principal.tenantId;
    if (await em.count(CollectionEntity, { tenantId, name: body.name })) {
      throw new AppError({ code: 'collection_exists', message: `A collection named "${body.name}" exists already.`, status: 409, category: 'conflict' });
    }
    const c = em.create(CollectionEntity, {
      id: crypto.randomUUID(),
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
    ctx.status = 201;
    ctx.body = c;
  });

  router.get('/collections', async (ctx) => {
    const tenantId = ctx.state.principal.tenantId;
    const rows = (await orm.em.getConnection().execute(
      `select c.*, count(d.id)::int as document_count, coalesce(sum(d.chunk_count), 0)::int as chunk_count
         from collections c left join documents d on d.collection_id = c.id
        where c.tenant_id = ? group by c.id order by c.created_at`,
      [tenantId],
    )) as Array<Record<string, unknown>>;
    ctx.body = {
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
  });

  router.get('/collections/:id', async (ctx) => {
    ctx.body = await ownCollection(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.delete('/collections/:id', write, async (ctx) => {
    const c = await ownCollection(ctx.state.principal.tenantId, ctx.params.id!);
    await orm.em.fork().nativeDelete(CollectionEntity, { id: c.id, tenantId: c.tenantId });
    ctx.status = 204;
  });

  router.get('/collections/:id/documents', async (ctx) => {
    const c = await ownCollection(ctx.state.principal.tenantId, ctx.params.id!);
    const status = z.enum(['pending', 'processing', 'ready', 'failed', 'skipped']).optional().parse(ctx.query.status);
    const docs = await orm.em.fork().find(DocumentEntity, { tenantId: c.tenantId, collectionId: c.id, ...(status ? { status } : {}) }, { orderBy: { createdAt: 'asc' } });
    ctx.body = { documents: docs.map(publicDocument) };
  });

  router.post('/collections/:id/documents', write, async (ctx) => {
    const c = await ownCollection(ctx.state.principal.tenantId, ctx.params.id!);
    const files = await receiveFiles(ctx, blobs, c.tenantId, config.ingest.maxFileBytes, config.ingest.maxRequestBytes);
    if (!files.length) throw badRequest('no_files', 'Send one or more files as multipart/form-data.');
    const docs = await upsertDocuments(
      c.tenantId,
      c.id,
      files.map((f) => ({ sourceKind: 'upload' as const, source: f.filename, title: f.filename, mimeType: f.mimeType, sizeBytes: f.blob.size, blobSha256: f.blob.sha256 })),
    );
    const workflowId = await startIngest(c.tenantId, c.id, docs.map((d) => d.id));
    ctx.state.workflowId = workflowId;
    ctx.status = 202;
    ctx.body = { workflowId, documents: docs.map(publicDocument) };
  });

  router.post('/collections/:id/urls', write, async (ctx) => {
    const c = await ownCollection(ctx.state.principal.tenantId, ctx.params.id!);
    const { urls } = urlsBody.parse(ctx.request.body ?? {});
    refuseUrlCredentials(urls);
    const docs = await upsertDocuments(c.tenantId, c.id, [...new Set(urls)].map((u) => ({ sourceKind: 'url' as const, source: u })));
    const workflowId = await startIngest(c.tenantId, c.id, docs.map((d) => d.id));
    ctx.state.workflowId = workflowId;
    ctx.status = 202;
    ctx.body = { workflowId, documents: docs.map(publicDocument) };
  });

  /** Admin only: every file under a folder inside one of INGEST_FOLDER_ROOTS (never a path outside them). */
  router.post('/collections/:id/folder', requireRole('admin'), async (ctx) => {
    const c = await ownCollection(ctx.state.principal.tenantId, ctx.params.id!);
    const { path } = folderBody.parse(ctx.request.body ?? {});
    const root = await allowedFolder(path, config.ingest.folderRoots);
    const files = await listFolder(root, MAX_FOLDER_FILES);
    if (!files.length) throw badRequest('empty_folder', `No files under ${path}.`);
    const stored = [];
    for (const file of files) {
      if (file.size > config.ingest.maxFileBytes) continue; // too large: left out, listed below
      stored.push({ file, blob: await blobs.put(c.tenantId, createReadStream(file.path), config.ingest.maxFileBytes) });
    }
    const docs = await upsertDocuments(
      c.tenantId,
      c.id,
      stored.map(({ file, blob }) => ({ sourceKind: 'folder' as const, source: file.path, title: basename(file.path), sizeBytes: blob.size, blobSha256: blob.sha256 })),
    );
    const skipped = files.filter((f) => f.size > config.ingest.maxFileBytes).map((f) => f.path);
    if (!docs.length) throw tooLarge(`Every file under ${path} is larger than the ${config.ingest.maxFileBytes}-byte limit.`);
    const workflowId = await startIngest(c.tenantId, c.id, docs.map((d) => d.id));
    ctx.state.workflowId = workflowId;
    ctx.status = 202;
    ctx.body = { workflowId, documents: docs.map(publicDocument), skippedTooLarge: skipped };
  });

  router.post('/collections/:id/reingest', write, async (ctx) => {
    const c = await ownCollection(ctx.state.principal.tenantId, ctx.params.id!);
    const docs = await orm.em.fork().find(DocumentEntity, { tenantId: c.tenantId, collectionId: c.id }, { fields: ['id'] });
    if (!docs.length) throw badRequest('no_documents', 'The collection has no documents.');
    const workflowId = await startIngest(c.tenantId, c.id, docs.map((d) => d.id));
    ctx.status = 202;
    ctx.body = { workflowId, documents: docs.length };
  });

  router.delete('/documents/:id', write, async (ctx) => {
    const tenantId = ctx.state.principal.tenantId;
    const id = ctx.params.id!;
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('Document');
    const deleted = await orm.em.fork().nativeDelete(DocumentEntity, { id, tenantId });
    if (!deleted) throw notFound('Document');
    ctx.status = 204;
  });

  router.get('/ingests/:workflowId', async (ctx) => {
    const tenantId = ctx.state.principal.tenantId;
    const workflowId = ctx.params.workflowId!;
    if (!workflowId.startsWith(`ingest:${tenantId}:`)) throw notFound('Ingest run');
    try {
      const handle = temporal.workflow.getHandle(workflowId);
      const description = await handle.describe();
      const status = description.status.name.toLowerCase();
      let progress: IngestProgress | null = null;
      if (status === 'completed') progress = (await handle.result()) as IngestProgress;
      else if (status === 'running') progress = await handle.query<IngestProgress>('progress');
      ctx.body = { workflowId, status, progress };
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError') throw notFound('Ingest run');
      throw e;
    }
  });

  return router;
}

/**
 * A URL's source is stored and shown to every viewer of the collection, and the fetch refuses credentials anyway:
 * a URL with user:password@ is refused up front (the secret is not echoed back), never stored.
 */
function refuseUrlCredentials(urls: string[]) {
  const i = urls.findIndex((u) => {
    const url = new URL(u);
    return url.username !== '' || url.password !== '';
  });
  if (i < 0) return;
  throw badRequest(
    'url_credentials_not_allowed',
    `urls.${i}: a URL with credentials (user:password@) is not accepted: it would be stored and shown to every viewer of the collection. Remove the credentials; a document behind authentication is ingested by uploading it, or through an MCP server that holds the secret.`,
    { path: ['urls', i] },
  );
}

const MAX_FOLDER_FILES = 10_000;
const folderBody = z.object({ path: z.string().startsWith('/', 'must be an absolute path').max(4096) }).strict();

/** The folder's real path, if it lies inside an allowed root (symbolic links resolved first). */
async function allowedFolder(path: string, roots: string[]): Promise<string> {
  if (!roots.length) throw new AppError({ code: 'folder_ingest_disabled', message: 'Folder ingestion is off: set INGEST_FOLDER_ROOTS.', status: 403, category: 'auth' });
  const real = await realpath(path).catch(() => null);
  if (!real || !(await stat(real)).isDirectory()) throw badRequest('folder_not_found', `${path} is not a folder on the server.`);
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => null);
    if (realRoot && (real === realRoot || real.startsWith(realRoot + sep))) return real;
  }
  throw new AppError({ code: 'folder_not_allowed', message: `${path} is outside INGEST_FOLDER_ROOTS.`, status: 403, category: 'auth' });
}

/** Regular files under `dir` (dot-files and symbolic links skipped), sorted, at most `max`. */
async function listFolder(dir: string, max: number): Promise<Array<{ path: string; size: number }>> {
  const out: Array<{ path: string; size: number }> = [];
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.'));
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    if (path.slice(dir.length).split(sep).some((part) => part.startsWith('.'))) continue;
    out.push({ path, size: (await stat(path)).size });
    if (out.length > max) throw badRequest('folder_too_large', `More than ${max} files under ${dir}; ingest a smaller folder.`);
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

interface ReceivedFile {
  filename: string;
  mimeType: string;
  blob: StoredBlob;
}

/** Streams each part of a multipart request into the blob store, within the per-file and per-request limits. */
function receiveFiles(ctx: Context, blobs: BlobStore, tenantId: string, maxFile: number, maxRequest: number): Promise<ReceivedFile[]> {
  const type = ctx.get('content-type');
  if (!type.startsWith('multipart/form-data')) {
    return Promise.reject(new AppError({ code: 'unsupported_media_type', message: 'Upload files as multipart/form-data.', status: 415, category: 'user' }));
  }
  const declared = Number(ctx.get('content-length'));
  if (Number.isFinite(declared) && declared > maxRequest) {
    return Promise.reject(tooLarge(`The upload is larger than the ${maxRequest}-byte limit per request.`));
  }
  let bb: Busboy.Busboy;
  try {
    // Raw filename="..." parameters are UTF-8 as browsers send them (busboy's default reads them as latin1).
    bb = Busboy({ headers: ctx.req.headers, defParamCharset: 'utf8', limits: { files: 1000, fileSize: maxFile, fields: 100 } });
  } catch (e) {
    return Promise.reject(badRequest('bad_multipart', `The multipart body could not be read: ${(e as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    const stored: Array<Promise<ReceivedFile>> = [];
    let total = 0;
    let failed: Error | null = null;
    bb.on('file', (_field, stream, info) => {
      const filename = (info.filename ?? '').replace(/^.*[\\/]/, '').slice(0, 255);
      if (!filename) {
        stream.resume();
        return;
      }
      if (!isValidText(filename)) {
        failed ??= invalidCharacters('multipart', ['filename']);
        stream.resume();
        return;
      }
      stream.on('limit', () => {
        failed ??= tooLarge(`${filename} is larger than the ${maxFile}-byte limit per file.`);
      });
      stored.push(
        // (no 'data' listener here: it would start the stream flowing before the store pipes it)
        blobs.put(tenantId, stream, maxFile).then(
          (blob) => {
            total += blob.size;
            if (total > maxRequest) failed ??= tooLarge(`The upload is larger than the ${maxRequest}-byte limit per request.`);
            return { filename, mimeType: info.mimeType, blob };
          },
          (e: unknown) => {
            failed ??= e instanceof BlobTooLargeError ? tooLarge(`${filename} is larger than the ${maxFile}-byte limit per file.`) : (e as Error);
            return { filename, mimeType: info.mimeType, blob: { sha256: '', size: 0 } };
          },
        ),
      );
    });
    bb.on('error', (e: Error) => reject(badRequest('bad_multipart', `The multipart body could not be read: ${e.message}`)));
    bb.on('close', () => {
      Promise.all(stored).then((files) => (failed ? reject(failed) : resolve(files)), reject);
    });
    ctx.req.pipe(bb);
  });
}

const tooLarge = (message: string) => new AppError({ code: 'payload_too_large', message, status: 413, category: 'user' });
