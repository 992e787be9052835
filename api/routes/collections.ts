import { Router } from '@koa/router';
import Busboy from 'busboy';
import type { Context } from 'koa';
import { z } from 'zod';
import { ANSWER_FRESHNESS, type AnswerFreshness, type AnswerFreshnessDetail } from '../../lib/contracts';
import { AppError, badRequest } from '../../lib/errors';
import { BlobTooLargeError, type BlobStore } from '../../lib/storage/blobs';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { CollectionsService, payloadTooLarge, type ReceivedFile } from '../collections/service';
import { invalidCharacters, isValidText } from '../input-guard';
import { modelName } from '../schemas';

export const collectionBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    embeddingModel: modelName.optional(),
    embeddingDim: z.number().int().min(1).max(16_000).optional(),
    /** `halfvec` halves the vector index (and search) size at a small precision cost; stored vectors keep full precision. */
    embeddingType: z.enum(['vector', 'halfvec']).default('vector'),
    chunkSize: z.number().int().min(16).max(8192).default(400),
    chunkOverlap: z.number().int().min(0).max(4000).default(60),
    /** Pack consecutive short sections into one chunk (false: one chunk or more per section). */
    combineSections: z.boolean().default(true),
  })
  .strict()
  .refine((b) => b.chunkOverlap < b.chunkSize / 2, {
    message: 'chunkOverlap must be less than half of chunkSize',
    path: ['chunkOverlap'],
  });

/** An upload's id, chosen by the client (a UUID, say): its documents wait for one ingest run, started at its end. */
const uploadId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, "-" or "_"')
  .describe('Groups the documents of several requests into one ingest run, started by POST …/uploads/{upload}/ingest.');

/** `?upload=` of a file upload. */
export const uploadQuery = z.object({ upload: uploadId.optional() });

export const uploadParams = z.object({ upload: uploadId });

export const urlsBody = z
  .object({
    urls: z
      .array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048))
      .min(1)
      .max(1000),
    upload: uploadId.optional(),
  })
  .strict();

export const documentsQuery = z.object({
  status: z.enum(['pending', 'processing', 'ready', 'failed', 'skipped']).optional(),
});

/** `?offset=&limit=` of a document's chunks. */
export const chunksQuery = z.object({
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const isoDate = z.iso.datetime();

/** A document as the routes answer it (api/collections/service.ts publicDocument). */
export const documentShape = z.looseObject({
  id: z.uuid(),
  collectionId: z.uuid(),
  sourceKind: z.enum(['upload', 'url', 'folder']),
  source: z.string(),
  title: z.string().nullable(),
  mimeType: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  status: z.enum(['pending', 'processing', 'ready', 'failed', 'skipped']),
  error: z.string().nullable(),
  chunkCount: z.number().int(),
  lastIngestWorkflowId: z.string().nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const documentResponse = z.object({
  document: documentShape.extend({ name: z.string(), collectionName: z.string() }),
});

export const chunksResponse = z.object({
  chunks: z.array(
    z.object({
      id: z.uuid(),
      ordinal: z.number().int(),
      headingPath: z.array(z.string()),
      page: z.number().int().nullable(),
      tokens: z.number().int(),
      text: z.string(),
    }),
  ),
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
});

export const citingAnswersResponse = z.object({
  answers: z.array(
    z.object({
      id: z.uuid(),
      question: z.string(),
      status: z.string(),
      groundingScore: z.number().nullable(),
      createdAt: z.iso.datetime(),
      citations: z.array(
        z.object({
          n: z.number().int(),
          chunkId: z.string(),
          page: z.number().int().nullable(),
          headingPath: z.array(z.string()),
        }),
      ),
    }),
  ),
});

export const documentReingestResponse = z.object({
  workflowId: z.string(),
  documentId: z.uuid(),
  /** False when the run that last took the document was still going: that run is the answer. */
  started: z.boolean(),
});

export const staleAnswersResponse = z.object({
  answers: z.array(
    z.object({
      id: z.uuid(),
      question: z.string(),
      freshness: z.enum(ANSWER_FRESHNESS),
      checkedAt: z.iso.datetime({ offset: true }),
      changedCitations: z.array(z.number().int()),
      removedDocuments: z.array(z.string()),
      score: z.number().nullable(),
      createdAt: z.iso.datetime({ offset: true }),
    }),
  ),
});

/**
 * The answers citing the collection's documents that a re-check after a change found `stale` or `unsupported_now`
 * (workflows/recheck-answers.ts), most recently checked first.
 */
async function staleAnswers(orm: AppDeps['orm'], tenantId: string, collectionId: string) {
  const rows = (await orm.em.getConnection().execute(
    `select id, question, freshness, freshness_checked_at, freshness_detail, created_at from answers
      where tenant_id = ? and freshness in ('stale', 'unsupported_now')
        and (result -> 'citations') @> cast(? as jsonb)
      order by freshness_checked_at desc, id limit 200`,
    [tenantId, JSON.stringify([{ collectionId }])],
  )) as Array<Record<string, unknown>>;
  return {
    answers: rows.map((r) => {
      const detail = (r.freshness_detail ?? {}) as Partial<AnswerFreshnessDetail>;
      return {
        id: r.id as string,
        question: r.question as string,
        freshness: r.freshness as AnswerFreshness,
        checkedAt: new Date(r.freshness_checked_at as string).toISOString(),
        changedCitations: detail.changedCitations ?? [],
        removedDocuments: detail.removedDocuments ?? [],
        score: detail.score ?? null,
        createdAt: new Date(r.created_at as string).toISOString(),
      };
    }),
  };
}

/** Collections and their documents: create, upload (streamed), register URLs, list, re-ingest, delete. */
export function collectionsRoutes({ orm, temporal, config, blobs, quotas, settings }: AppDeps) {
  const collections = new CollectionsService(temporal, orm, config, blobs, quotas, settings);
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  const write = requireRole('admin', 'operator');

  router.post('/collections', write, async (ctx) => {
    const body = collectionBody.parse(ctx.request.body ?? {});
    const c = await collections.create(ctx.state.principal.tenantId, body);
    ctx.status = 201;
    ctx.body = c;
  });

  router.get('/collections', async (ctx) => {
    ctx.body = await collections.list(ctx.state.principal.tenantId);
  });

  router.get('/collections/:id', async (ctx) => {
    ctx.body = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.get('/collections/:id/stale-answers', async (ctx) => {
    const c = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.body = await staleAnswers(orm, c.tenantId, c.id);
  });

  router.delete('/collections/:id', write, async (ctx) => {
    await collections.delete(await collections.own(ctx.state.principal.tenantId, ctx.params.id!));
    ctx.status = 204;
  });

  router.get('/collections/:id/documents', async (ctx) => {
    const c = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
    const { status } = documentsQuery.parse(ctx.query);
    ctx.body = await collections.documents(c, status);
  });

  router.post('/collections/:id/documents', write, async (ctx) => {
    const c = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
    await collections.checkStorage(c.tenantId, Number(ctx.get('content-length')));
    const { upload } = uploadQuery.parse(ctx.query);
    const files = await receiveFiles(ctx, blobs, c.tenantId, config.ingest.maxFileBytes, config.ingest.maxRequestBytes);
    const added = await collections.addUploads(c, files, upload);
    if (added.workflowId) ctx.state.workflowId = added.workflowId;
    ctx.status = added.workflowId ? 202 : 201;
    ctx.body = added;
  });

  /** The one ingest run of an upload's documents (idempotent: the same upload answers the same run). */
  router.post('/collections/:id/uploads/:upload/ingest', write, async (ctx) => {
    const c = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
    const { upload } = uploadParams.parse(ctx.params);
    const run = await collections.startUpload(c, upload);
    ctx.state.workflowId = run.workflowId;
    ctx.status = 202;
    ctx.body = run;
  });

  router.post('/collections/:id/urls', write, async (ctx) => {
    const c = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
    const { urls, upload } = urlsBody.parse(ctx.request.body ?? {});
    refuseUrlCredentials(urls);
    const added = await collections.addUrls(c, urls, upload);
    if (added.workflowId) ctx.state.workflowId = added.workflowId;
    ctx.status = added.workflowId ? 202 : 201;
    ctx.body = added;
  });

  /** Admin only: every file under a folder inside one of INGEST_FOLDER_ROOTS (never a path outside them). */
  router.post('/collections/:id/folder', requireRole('admin'), async (ctx) => {
    const c = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
    const { path } = folderBody.parse(ctx.request.body ?? {});
    const added = await collections.addFolder(c, path);
    ctx.state.workflowId = added.workflowId;
    ctx.status = 202;
    ctx.body = added;
  });

  router.post('/collections/:id/reingest', write, async (ctx) => {
    const c = await collections.own(ctx.state.principal.tenantId, ctx.params.id!);
    const run = await collections.reingest(c);
    ctx.status = 202;
    ctx.body = run;
  });

  router.get('/documents/:id', async (ctx) => {
    ctx.body = await collections.document(ctx.state.principal.tenantId, ctx.params.id!);
  });

  router.get('/documents/:id/chunks', async (ctx) => {
    const d = await collections.ownDocument(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.body = await collections.chunks(d, chunksQuery.parse(ctx.query));
  });

  router.get('/documents/:id/answers', async (ctx) => {
    const d = await collections.ownDocument(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.body = await collections.citingAnswers(d);
  });

  router.post('/documents/:id/reingest', write, async (ctx) => {
    const d = await collections.ownDocument(ctx.state.principal.tenantId, ctx.params.id!);
    const run = await collections.reingestDocument(d);
    ctx.state.workflowId = run.workflowId;
    ctx.status = 202;
    ctx.body = run;
  });

  router.delete('/documents/:id', write, async (ctx) => {
    await collections.deleteDocument(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.status = 204;
  });

  router.get('/ingests/:workflowId', async (ctx) => {
    ctx.body = await collections.ingestStatus(ctx.state.principal.tenantId, ctx.params.workflowId!);
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

export const folderBody = z.object({ path: z.string().startsWith('/', 'must be an absolute path').max(4096) }).strict();

/** Streams each part of a multipart request into the blob store, within the per-file and per-request limits. */
function receiveFiles(
  ctx: Context,
  blobs: BlobStore,
  tenantId: string,
  maxFile: number,
  maxRequest: number,
): Promise<ReceivedFile[]> {
  const type = ctx.get('content-type');
  if (!type.startsWith('multipart/form-data')) {
    return Promise.reject(
      new AppError({
        code: 'unsupported_media_type',
        message: 'Upload files as multipart/form-data.',
        status: 415,
        category: 'user',
      }),
    );
  }
  const declared = Number(ctx.get('content-length'));
  if (Number.isFinite(declared) && declared > maxRequest) {
    return Promise.reject(payloadTooLarge(`The upload is larger than the ${maxRequest}-byte limit per request.`));
  }
  let bb: Busboy.Busboy;
  try {
    // Raw filename="..." parameters are UTF-8 as browsers send them (busboy's default reads them as latin1).
    bb = Busboy({
      headers: ctx.req.headers,
      defParamCharset: 'utf8',
      limits: { files: 1000, fileSize: maxFile, fields: 100 },
    });
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
        failed ??= payloadTooLarge(`${filename} is larger than the ${maxFile}-byte limit per file.`);
      });
      stored.push(
        // (no 'data' listener here: it would start the stream flowing before the store pipes it)
        blobs.put(tenantId, stream, maxFile).then(
          (blob) => {
            total += blob.size;
            if (total > maxRequest)
              failed ??= payloadTooLarge(`The upload is larger than the ${maxRequest}-byte limit per request.`);
            return { filename, mimeType: info.mimeType, blob };
          },
          (e: unknown) => {
            failed ??=
              e instanceof BlobTooLargeError
                ? payloadTooLarge(`${filename} is larger than the ${maxFile}-byte limit per file.`)
                : (e as Error);
            return { filename, mimeType: info.mimeType, blob: { sha256: '', size: 0 } };
          },
        ),
      );
    });
    bb.on('error', (e: Error) =>
      reject(badRequest('bad_multipart', `The multipart body could not be read: ${e.message}`)),
    );
    bb.on('close', () => {
      Promise.all(stored).then((files) => (failed ? reject(failed) : resolve(files)), reject);
    });
    ctx.req.pipe(bb);
  });
}
