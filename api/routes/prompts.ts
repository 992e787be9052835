import { Router } from '@koa/router';
import { z } from 'zod';
import { ROLES } from '../../lib/db/entities';
import { PROMPT_LABEL_PATTERN, PROMPT_NOTE_MAX_CHARS, PROMPT_TEXT_MAX_CHARS } from '../../lib/prompts/store';
import type { AppDeps } from '../deps';
import { requireRole, type AuthState } from '../auth/middleware';
import { PromptsService } from '../prompts/service';

const label = z.string().regex(PROMPT_LABEL_PATTERN, 'must be 1 to 40 lowercase letters, digits, "_" or "-"');

export const promptVersionBody = z
  .object({
    text: z
      .string()
      .max(PROMPT_TEXT_MAX_CHARS)
      .refine((s) => s.trim().length > 0, 'must not be empty'),
    note: z.string().trim().max(PROMPT_NOTE_MAX_CHARS).optional(),
    /** Labels pointed at the new version (`production`: admins only). */
    labels: z.array(label).max(10).optional(),
  })
  .strict();

export const promptLabelBody = z
  .object({
    label,
    /** The version the label points at (1 is the shipped text); null removes the label. */
    version: z.number().int().min(1).max(1_000_000).nullable(),
  })
  .strict();

/**
 * The tenant's versioned prompts (answer, answer_strict, rewrite, rerank, judge, agent): read them, add versions,
 * point labels at versions. A name that is not a prompt reads as a missing prompt.
 */
export function promptsRoutes({ orm }: AppDeps) {
  const prompts = new PromptsService(orm);
  const router = new Router<AuthState>({ prefix: '/v1/prompts', sensitive: true });
  const read = requireRole(...ROLES);
  const write = requireRole('admin', 'operator');

  router.get('/', read, async (ctx) => {
    ctx.body = await prompts.list(ctx.state.principal.tenantId);
  });

  router.get('/:name', read, async (ctx) => {
    ctx.body = await prompts.get(ctx.state.principal.tenantId, ctx.params.name!);
  });

  router.post('/:name/versions', write, async (ctx) => {
    const body = promptVersionBody.parse(ctx.request.body ?? {});
    const created = await prompts.addVersion(ctx.state.principal, ctx.params.name!, body);
    ctx.state.audit = {
      action: 'prompts.add_version',
      targets: { prompt: created.name },
      detail: { version: created.version, ...(created.labels.length ? { labels: created.labels } : {}) },
    };
    ctx.status = 201;
    ctx.body = created;
  });

  router.put('/:name/labels', write, async (ctx) => {
    const body = promptLabelBody.parse(ctx.request.body ?? {});
    const changed = await prompts.setLabel(ctx.state.principal, ctx.params.name!, body);
    ctx.state.audit = {
      action: 'prompts.set_label',
      targets: { prompt: changed.name },
      detail: { label: changed.label, version: changed.version, previousVersion: changed.previousVersion },
    };
    ctx.body = changed;
  });

  return router;
}
