import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ROLES } from '../../lib/db/entities';
import { AppError, badRequest } from '../../lib/errors';
import type { DatasetFormat } from '../../lib/evals/dataset-format';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import {
  DatasetsService,
  createDatasetBody,
  exportQuery,
  fromAnswersBody,
  importEnvelope,
  importOptions,
  itemsQuery,
  updateDatasetBody,
  versionBody,
} from '../evals/datasets-service';
import { assertValidText } from '../input-guard';

const idParam = z.uuid();
const MISSING = '00000000-0000-0000-0000-000000000000';

/** The file types an import takes as a text body, and the format each one means. */
const TEXT_TYPES: Record<string, DatasetFormat | null> = {
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
  'text/csv': 'csv',
  'text/plain': null,
};

/** `1mb`, `512kb`, `2048`: the API's body limit in bytes. */
export function byteLimit(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) return 1024 * 1024;
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

/**
 * The request body as UTF-8 text, at most `limit` bytes (the JSON body limit): the body parser takes JSON only, so an
 * imported file is read here, and checked for text Postgres cannot store as the input guard checks JSON.
 */
async function readText(ctx: Context, limit: number, limitText: string): Promise<string> {
  const tooLarge = () =>
    new AppError({
      code: 'payload_too_large',
      message: `The request body is larger than the ${limitText} limit.`,
      status: 413,
      category: 'user',
    });
  if (Number(ctx.get('content-length') || 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw badRequest('invalid_encoding', 'The file is not valid UTF-8 text.');
  }
  assertValidText(text, 'body', []);
  return text;
}

const formatRequired = () => badRequest('format_required', 'Say the format: ?format=jsonl or ?format=csv.');

/**
 * An import's file: the body as text (`?format=jsonl|csv&mode=replace|append&note=`; the content type can stand for
 * the format), or JSON `{ format, content, mode?, note? }` for clients that only send JSON.
 */
async function importedFile(
  ctx: Context,
  limit: number,
  limitText: string,
): Promise<{ content: string; format: DatasetFormat; mode: 'replace' | 'append'; note?: string }> {
  const query = importOptions.parse(ctx.query);
  if (ctx.is('application/json')) {
    const body = importEnvelope.parse(ctx.request.body ?? {});
    const format = body.format ?? query.format;
    if (!format) throw formatRequired();
    return { content: body.content, format, mode: body.mode ?? query.mode, note: body.note ?? query.note };
  }
  const type = ctx.is(...Object.keys(TEXT_TYPES));
  if (!type)
    throw new AppError({
      code: 'unsupported_media_type',
      message: `Send the file as ${Object.keys(TEXT_TYPES).join(', ')}, or JSON { format, content }.`,
      status: 415,
      category: 'user',
    });
  const format = query.format ?? TEXT_TYPES[type];
  if (!format) throw formatRequired();
  return { ...query, format, content: await readText(ctx, limit, limitText) };
}

/**
 * The tenant's eval datasets (issue 19): list, create, read with versions and items, rename, delete, new versions by
 * edit or import, export as JSON lines or CSV, and datasets built from past answers. An id that is not a uuid reads
 * as a missing dataset.
 */
export function datasetsRoutes({ orm, config }: AppDeps) {
  const datasets = new DatasetsService(orm);
  const router = new Router<AuthState>({ prefix: '/v1/datasets', sensitive: true });
  const read = requireRole(...ROLES);
  const write = requireRole('admin', 'operator');
  const id = (raw: string | undefined) => {
    const parsed = idParam.safeParse(raw);
    return parsed.success ? parsed.data : MISSING;
  };
  const limit = byteLimit(config.api.bodyLimit);

  router.get('/', read, async (ctx) => {
    ctx.body = await datasets.list(ctx.state.principal.tenantId);
  });

  router.post('/', write, async (ctx) => {
    const body = createDatasetBody.parse(ctx.request.body ?? {});
    const made = await datasets.create(ctx.state.principal, body);
    ctx.state.audit = {
      action: 'datasets.create',
      targets: { datasetId: made.id },
      detail: { name: made.name, items: made.itemCount },
    };
    ctx.status = 201;
    ctx.body = made;
  });

  router.post('/from-answers', write, async (ctx) => {
    const body = fromAnswersBody.parse(ctx.request.body ?? {});
    const made = await datasets.fromAnswers(ctx.state.principal, body);
    ctx.state.audit = {
      action: 'datasets.from_answers',
      targets: { datasetId: made.id },
      detail: { version: made.version, items: made.itemCount, by: body.answerIds ? 'ids' : 'filter' },
    };
    ctx.status = 201;
    ctx.body = made;
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = await datasets.get(ctx.state.principal.tenantId, id(ctx.params.id));
  });

  router.patch('/:id', write, async (ctx) => {
    const patch = updateDatasetBody.parse(ctx.request.body ?? {});
    ctx.state.audit = { action: 'datasets.update', detail: { fields: Object.keys(patch) } };
    ctx.body = await datasets.update(ctx.state.principal, id(ctx.params.id), patch);
  });

  router.delete('/:id', write, async (ctx) => {
    ctx.state.audit = { action: 'datasets.delete' };
    await datasets.remove(ctx.state.principal.tenantId, id(ctx.params.id));
    ctx.status = 204;
  });

  router.get('/:id/items', read, async (ctx) => {
    const q = itemsQuery.parse(ctx.query);
    ctx.body = await datasets.items(ctx.state.principal.tenantId, id(ctx.params.id), q);
  });

  router.post('/:id/versions', write, async (ctx) => {
    await datasets.assertExists(ctx.state.principal.tenantId, id(ctx.params.id));
    const body = versionBody.parse(ctx.request.body ?? {});
    const made = await datasets.newVersion(ctx.state.principal, id(ctx.params.id), body);
    ctx.state.audit = { action: 'datasets.version', detail: { version: made.version, items: made.itemCount } };
    ctx.status = 201;
    ctx.body = made;
  });

  router.post('/:id/import', write, async (ctx) => {
    const datasetId = id(ctx.params.id);
    await datasets.assertExists(ctx.state.principal.tenantId, datasetId);
    const file = await importedFile(ctx, limit, config.api.bodyLimit);
    const made = await datasets.importFile(ctx.state.principal, datasetId, file);
    ctx.state.audit = {
      action: 'datasets.import',
      detail: { format: file.format, mode: file.mode, version: made.version, items: made.itemCount },
    };
    ctx.status = 201;
    ctx.body = made;
  });

  router.get('/:id/export', read, async (ctx) => {
    const q = exportQuery.parse(ctx.query);
    const file = await datasets.exportFile(ctx.state.principal.tenantId, id(ctx.params.id), q);
    ctx.set('content-disposition', `attachment; filename="${file.fileName}"`);
    ctx.type = file.contentType;
    ctx.body = file.body;
  });

  return router;
}
