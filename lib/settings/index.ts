import { z } from 'zod';
import { RETENTION_KINDS, type RetentionAges, type RetentionKind } from '../contracts';
import { TenantSettingsEntity } from '../db/entities';
import type { Orm } from '../db/orm';
import { badRequest, type AppError } from '../errors';
import { isLocalModel, localEmbeddingDimensions } from '../llm/local-models';

/**
 * A tenant's settings over the platform's configuration: its default model per purpose, and how long its data is kept
 * (`retention`, days per kind, read by the `retention` batch job). A call that names no model
 * (an answer, a judge, an agent turn, a new collection's embedder) takes the tenant's default, else the platform's
 * (`LLM_MODEL_*`). Read through a 5-second cache, so a change reaches every API and worker
 * process within that time; a run already started keeps the models its calls were made with.
 */
export const MODEL_PURPOSES = ['answer', 'judge', 'agent', 'embedding'] as const;
export type ModelPurpose = (typeof MODEL_PURPOSES)[number];
export type TenantModels = Partial<Record<ModelPurpose, string>>;

const modelName = z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/, 'a model name: 1-200 of A-Z a-z 0-9 . _ : / -');

/** Days a kind is kept: a whole number of days up to a hundred years. */
export const RETENTION_DAYS = { min: 1, max: 36_500 } as const;
const retentionDays = z.number().int().min(RETENTION_DAYS.min).max(RETENTION_DAYS.max);

/** Every kind kept forever: the default, so nothing is deleted until a tenant says so. */
export const KEEP_FOREVER: RetentionAges = Object.fromEntries(RETENTION_KINDS.map((k) => [k, null])) as RetentionAges;

/**
 * `PUT /v1/settings`: only the purposes and kinds named change; a null model returns that purpose to the platform's
 * default, a null retention keeps that kind forever.
 */
export const tenantSettingsPatch = z
  .object({
    models: z
      .object(Object.fromEntries(MODEL_PURPOSES.map((p) => [p, modelName.nullable().optional()])))
      .strict()
      .partial(),
    retention: z
      .object(
        Object.fromEntries(RETENTION_KINDS.map((k) => [k, retentionDays.nullable().optional()])) as Record<
          RetentionKind,
          z.ZodOptional<z.ZodNullable<typeof retentionDays>>
        >,
      )
      .strict(),
  })
  .partial()
  .strict();
export type TenantSettingsPatch = z.infer<typeof tenantSettingsPatch>;

export interface StoredTenantSettings {
  models: TenantModels;
  /** Days per kind; null keeps that kind forever. Every kind is present. */
  retention: RetentionAges;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** An LLM judge asked for (grounding method `llm`) where no model is configured: the 400 the API answers. */
export function judgeRefusal(method: string | undefined, provider: 'local' | 'openai'): AppError | null {
  return method === 'llm' && provider === 'local'
    ? badRequest(
        'judge_not_configured',
        'An LLM judge was asked for (method "llm"), but no model is configured (LLM_PROVIDER is local); use "auto" or "deterministic".',
      )
    : null;
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

/** Stored retention, every kind present; a value that is not a valid number of days reads as keep forever. */
const parseRetention = (raw: unknown): RetentionAges => {
  const out: RetentionAges = { ...KEEP_FOREVER };
  if (raw && typeof raw === 'object') {
    for (const k of RETENTION_KINDS) {
      const v = retentionDays.safeParse((raw as Record<string, unknown>)[k]);
      if (v.success) out[k] = v.data;
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
    return {
      models: parseModels(row?.models),
      retention: parseRetention(row?.retention),
      updatedAt: row?.updatedAt ?? null,
      updatedBy: row?.updatedBy ?? null,
    };
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

  /** Applies a patch of the models (null removes a purpose's default) and returns what is stored now. */
  setModels(tenantId: string, patch: TenantSettingsPatch['models'], updatedBy: string): Promise<StoredTenantSettings> {
    return this.update(tenantId, { models: patch }, updatedBy);
  }

  /**
   * Applies a patch: a model named sets that purpose's default (null removes it), a retention named sets that kind's
   * days (null keeps it forever); what the patch leaves out stays. Returns what is stored now.
   */
  async update(tenantId: string, patch: TenantSettingsPatch, updatedBy: string): Promise<StoredTenantSettings> {
    const current = await this.read(tenantId);
    const models: TenantModels = { ...current.models };
    for (const p of MODEL_PURPOSES) {
      const v = patch.models?.[p];
      if (v === null) delete models[p];
      else if (typeof v === 'string') models[p] = v;
    }
    // Stored sparse: a kind kept forever is left out, as a purpose that follows the platform is.
    const retention: Partial<RetentionAges> = {};
    for (const k of RETENTION_KINDS) {
      const v = patch.retention?.[k] === undefined ? current.retention[k] : patch.retention[k];
      if (v !== null && v !== undefined) retention[k] = v;
    }
    await this.orm.em.getConnection().execute(
      `insert into tenant_settings (tenant_id, models, retention, updated_at, updated_by) values (?, ?::jsonb, ?::jsonb, now(), ?)
       on conflict (tenant_id) do update set models = excluded.models, retention = excluded.retention,
         updated_at = now(), updated_by = excluded.updated_by`,
      [tenantId, JSON.stringify(models), JSON.stringify(retention), updatedBy],
    );
    this.cache.delete(tenantId);
    return this.read(tenantId);
  }
}
