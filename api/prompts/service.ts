import { PRODUCTION_LABEL } from '../../lib/contracts';
import type { Orm } from '../../lib/db/orm';
import { forbidden } from '../../lib/errors';
import {
  addPromptVersion,
  checkLabel,
  checkPromptName,
  getPrompt,
  listPrompts,
  setPromptLabel,
  type PromptDetail,
  type PromptSummary,
} from '../../lib/prompts/store';
import { actorLabel, type Principal } from '../auth/api-keys';

/**
 * A tenant's versioned prompts: every role reads them; operators and admins add versions and move labels, except
 * `production` (what every new run uses), which only admins set or remove.
 */
export class PromptsService {
  constructor(private readonly orm: Orm) {}

  async list(tenantId: string): Promise<{ prompts: PromptSummary[] }> {
    return { prompts: await listPrompts(this.orm.em.fork(), tenantId) };
  }

  async get(tenantId: string, name: string): Promise<PromptDetail> {
    return getPrompt(this.orm.em.fork(), tenantId, name);
  }

  async addVersion(principal: Principal, name: string, body: { text: string; note?: string; labels?: string[] }) {
    checkPromptName(name);
    const labels = (body.labels ?? []).map(checkLabel);
    if (labels.includes(PRODUCTION_LABEL)) PromptsService.guardProduction(principal);
    return addPromptVersion(this.orm.em.fork(), {
      tenantId: principal.tenantId,
      name,
      text: body.text,
      note: body.note ?? null,
      labels,
      actor: actorLabel(principal),
    });
  }

  async setLabel(principal: Principal, name: string, body: { label: string; version: number | null }) {
    checkPromptName(name);
    if (checkLabel(body.label) === PRODUCTION_LABEL) PromptsService.guardProduction(principal);
    return setPromptLabel(this.orm.em.fork(), {
      tenantId: principal.tenantId,
      name,
      label: body.label,
      version: body.version,
      actor: actorLabel(principal),
    });
  }

  private static guardProduction(principal: Principal): void {
    if (principal.role !== 'admin')
      throw forbidden(`The "${PRODUCTION_LABEL}" label decides what every new run uses: only admins set or remove it.`);
  }
}
