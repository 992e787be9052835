import { z } from 'zod';
import type { Config } from '../config';

/**
 * The limits a tenant runs under. Each is a whole number where 0 means no limit, as in the QUOTA_* settings:
 * requests per minute per key or session, runs started per minute, running workflows per run kind, documents and
 * bytes stored, model tokens per UTC day.
 */
export interface QuotaLimits {
  requestsPerMinute: number;
  runsPerMinute: number;
  /** Running workflows of one run kind at a time (each kind counts separately). */
  concurrentRuns: number;
  maxDocuments: number;
  maxBytes: number;
  dailyTokens: number;
}

export const QUOTA_NAMES = [
  'requestsPerMinute',
  'runsPerMinute',
  'concurrentRuns',
  'maxDocuments',
  'maxBytes',
  'dailyTokens',
] as const satisfies ReadonlyArray<keyof QuotaLimits>;

/** A tenant's own limits; a limit left out follows the platform default (config). */
export type QuotaOverrides = Partial<QuotaLimits>;

/** The platform defaults: the QUOTA_* settings. */
export const defaultLimits = (config: Pick<Config, 'quotas'>): QuotaLimits => ({ ...config.quotas });

/** Effective limits: the tenant's overrides over the defaults. */
export const effectiveLimits = (defaults: QuotaLimits, overrides: QuotaOverrides): QuotaLimits => ({
  ...defaults,
  ...Object.fromEntries(QUOTA_NAMES.filter((n) => overrides[n] !== undefined).map((n) => [n, overrides[n]])),
});

const limitValue = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A change of a tenant's overrides: only the limits given change; null returns a limit to the default. */
export const quotaOverridesPatch = z
  .object(
    Object.fromEntries(QUOTA_NAMES.map((n) => [n, limitValue.nullable().optional()])) as {
      [K in (typeof QUOTA_NAMES)[number]]: z.ZodOptional<z.ZodNullable<typeof limitValue>>;
    },
  )
  .strict();
export type QuotaOverridesPatch = z.infer<typeof quotaOverridesPatch>;

/** Applies a patch: a number sets the override, null removes it, a limit left out keeps its override. */
export function applyPatch(current: QuotaOverrides, patch: QuotaOverridesPatch): QuotaOverrides {
  const next: QuotaOverrides = { ...current };
  for (const n of QUOTA_NAMES) {
    const v = patch[n];
    if (v === null) delete next[n];
    else if (v !== undefined) next[n] = v;
  }
  return next;
}

/** Overrides as stored (jsonb): only known names with valid values are read back. */
export function parseOverrides(stored: unknown): QuotaOverrides {
  const out: QuotaOverrides = {};
  if (stored && typeof stored === 'object') {
    for (const n of QUOTA_NAMES) {
      const parsed = limitValue.safeParse((stored as Record<string, unknown>)[n]);
      if (parsed.success) out[n] = parsed.data;
    }
  }
  return out;
}
