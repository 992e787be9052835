import { Router } from '@koa/router';
import { z } from 'zod';
import { badRequest, forbidden } from '../../lib/errors';
import type { AppDeps } from '../deps';
import { actorLabel } from '../auth/api-keys';
import { requireRole, type AuthState } from '../auth/middleware';
import { SourcesService } from '../sources/service';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);
const name = z.string().trim().min(1).max(200);
const urls = z.array(httpUrl).min(1).max(1000);
const path = z.string().startsWith('/', 'must be an absolute path').max(4096);

export const sourceBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('urls'), name: name.optional(), urls }).strict(),
  z.object({ kind: z.literal('sitemap'), name: name.optional(), url: httpUrl }).strict(),
  z.object({ kind: z.literal('folder'), name: name.optional(), path }).strict(),
]);

export const sourcePatchBody = z
  .object({ name: name.optional(), urls: urls.optional(), url: httpUrl.optional(), path: path.optional() })
  .strict();

/** A source as the routes answer it (api/sources/service.ts SourceView), for the OpenAPI document. */
export const sourceResponse = z.object({
  id: z.uuid(),
  collectionId: z.uuid(),
  kind: z.enum(['urls', 'sitemap', 'folder']),
  name: z.string(),
  config: z.union([
    z.object({ urls: z.array(z.string()) }),
    z.object({ url: z.string() }),
    z.object({ path: z.string() }),
  ]),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  documents: z.number().int(),
  lastSync: z
    .object({
      workflowId: z.string(),
      status: z.enum(['running', 'completed', 'failed']),
      startedAt: z.iso.datetime(),
      finishedAt: z.iso.datetime().nullable(),
      added: z.number().int(),
      changed: z.number().int(),
      unchanged: z.number().int(),
      removed: z.number().int(),
      failed: z.number().int(),
      failures: z.array(z.object({ location: z.string(), reason: z.string() })),
    })
    .nullable(),
});
export const sourcesResponse = z.object({ sources: z.array(sourceResponse) });
export const syncStartedResponse = z.object({ workflowId: z.string() });

/**
 * A source's URLs are stored and shown to every viewer of the collection, and the fetch refuses credentials anyway:
 * a URL with user:password@ is refused up front, never stored (as POST /v1/collections/:id/urls does).
 */
function refuseUrlCredentials(body: { urls?: string[]; url?: string }) {
  const list = body.urls ?? (body.url ? [body.url] : []);
  const i = list.findIndex((u) => {
    const url = new URL(u);
    return url.username !== '' || url.password !== '';
  });
  if (i < 0) return;
  throw badRequest(
    'url_credentials_not_allowed',
    'A URL with credentials (user:password@) is not accepted: it would be stored and shown to every viewer of the collection.',
    { path: body.urls ? ['urls', i] : ['url'] },
  );
}

/** A collection's sources: attach (a folder: admins), list, change, detach, and sync now (a batch run). */
export function sourcesRoutes({ orm, temporal, config, quotas }: AppDeps) {
  const sources = new SourcesService(temporal, orm, config, quotas);
  const router = new Router<AuthState>({ prefix: '/v1', sensitive: true });
  const write = requireRole('admin', 'operator');

  router.get('/collections/:id/sources', async (ctx) => {
    const c = await sources.collection(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.body = await sources.list(c);
  });

  router.post('/collections/:id/sources', write, async (ctx) => {
    const c = await sources.collection(ctx.state.principal.tenantId, ctx.params.id!);
    const body = sourceBody.parse(ctx.request.body ?? {});
    if (body.kind === 'folder' && ctx.state.principal.role !== 'admin')
      throw forbidden('A folder source needs the admin role.');
    if (body.kind !== 'folder') refuseUrlCredentials(body);
    ctx.status = 201;
    ctx.body = await sources.create(c, body, actorLabel(ctx.state.principal));
  });

  router.get('/collections/:id/sources/:sourceId', async (ctx) => {
    const c = await sources.collection(ctx.state.principal.tenantId, ctx.params.id!);
    ctx.body = await sources.view(await sources.own(c, ctx.params.sourceId!));
  });

  router.patch('/collections/:id/sources/:sourceId', write, async (ctx) => {
    const c = await sources.collection(ctx.state.principal.tenantId, ctx.params.id!);
    const s = await sources.own(c, ctx.params.sourceId!);
    const patch = sourcePatchBody.parse(ctx.request.body ?? {});
    if (patch.path !== undefined && ctx.state.principal.role !== 'admin')
      throw forbidden('A folder source’s path is changed by admins.');
    refuseUrlCredentials(patch);
    ctx.body = await sources.update(s, patch);
  });

  router.delete('/collections/:id/sources/:sourceId', write, async (ctx) => {
    const c = await sources.collection(ctx.state.principal.tenantId, ctx.params.id!);
    await sources.delete(await sources.own(c, ctx.params.sourceId!));
    ctx.status = 204;
  });

  router.post('/collections/:id/sources/:sourceId/sync', write, async (ctx) => {
    const c = await sources.collection(ctx.state.principal.tenantId, ctx.params.id!);
    const s = await sources.own(c, ctx.params.sourceId!);
    const run = await sources.sync(s, actorLabel(ctx.state.principal));
    ctx.state.workflowId = run.workflowId;
    ctx.status = 202;
    ctx.body = run;
  });

  return router;
}
