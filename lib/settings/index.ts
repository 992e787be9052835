import { z } from 'zod';
import { TenantSettingsEntity } from '../db/entities';
import type { Orm } from '../db/orm';
import { isLocalModel, localEmbeddingDimensions } from '../llm/local-models';

/**
 * A tenant's settings over the platform's configuration: its default model per purpose. A call that names no model
 * (an answer, a judge, an agent turn, a new collection's embedder) takes the tenant's default, else the platform's
 * (`LLM_MODEL_*`). Read through a 5-second cache, so a change reaches every API and worker
 * process within that time; a run already started keeps the models its calls were made with.
 */
export const MODEL_PURPOSES = ['answer', 'judge', 'agent', 'embedding'] as const;
export type ModelPurpose = (typeof MODEL_PURPOSES)[number];
export type TenantModels = Partial<Record<ModelPurpose, string>>;

const modelName = z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/, 'a model name: 1-200 of A-Z a-z 0-9 . _ : / -');

/** `PUT /v1/settings`: only the purposes named change; null returns one to the platform's default. */
export const tenantSettingsPatch = z
  .object({
    models: z
      .object(Object.fromEntries(MODEL_PURPOSES.map((p) => [p, modelName.nullable().optional()])))
      .strict()
      .partial(),
  })
  .strict();
export type TenantSettingsPatch = z.infer<typeof tenantSettingsPatch>;

export interface StoredTenantSettings {
  models: TenantModels;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** Why a model cannot be a default here (null when it can): a model no configured provider serves. */
export function modelRefusal(purpose: ModelPurpose, model: string, provider: 'local' | 'openai'): string | null {
  if (purpose === 'embedding' && isLocalModel(model) && localEmbeddingDimensions(model) === null) {
    return `${model} is not a local embedding model; the local ones are local-embed-<dimensions> and local-minilm-l6.`;
  }
  if (provider === 'local' && !isLocalModel(model)) {
    return `${model} needs a model endpoint, and this platform has none configured (LLM_PROVIDER is local): choose a local-* model.`;
  }
  return null;
}

const parseModels = (raw: unknown): TenantModels => {
  const out: TenantModels = {};
  if (raw && typeof raw === 'object') {
    for (const p of MODEL_PURPOSES) {
      const v = (raw as Record<string, unknown>)[p];
      if (typeof v === 'string' && v) out[p] = v;
    }
  }
  return out;
};

export class TenantSettings {
  private readonly cache = new Map<string, { at: number; models: Promise<TenantModels> }>();

  constructor(
    private readonly orm: Orm,
    private readonly ttlMs = 5_000,
  ) {}

  async read(tenantId: string): Promise<StoredTenantSettings> {
    const row = await this.orm.em.fork().findOne(TenantSettingsEntity, { tenantId });
    return { models: parseModels(row?.models), updatedAt: row?.updatedAt ?? null, updatedBy: row?.updatedBy ?? null };
  }

  /** The tenant's default models, cached for `ttlMs` (the gateway asks on every call that names no model). */
  models(tenantId: string): Promise<TenantModels> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.models;
    const models = this.read(tenantId).then((s) => s.models);
    this.cache.set(tenantId, { at: Date.now(), models });
    models.catch(() => this.cache.delete(tenantId));
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value!);
    return models;
  }

  /** Applies a patch (null removes a purpose's default) and returns what is stored now. */
  async setModels(
    tenantId: string,
    patch: TenantSettingsPatch['models'],
    updatedBy: string,
  ): Promise<StoredTenantSettings> {
    const current = (await this.read(tenantId)).models;
    const next: TenantModels = { ...current };
    for (const p of MODEL_PURPOSES) {
      const v = patch[p];
      if (v === null) delete next[p];
      else if (typeof v === 'string') next[p] = v;
    }
    await this.orm.em.getConnection().execute(
      `insert into tenant_settings (tenant_id, models, updated_at, updated_by) values (?, ?::jsonb, now(), ?)
       on conflict (tenant_id) do update set models = excluded.models, updated_at = now(), updated_by = excluded.updated_by`,
      [tenantId, JSON.stringify(next), updatedBy],
    );
    this.cache.delete(tenantId);
    return this.read(tenantId);
  }
}
