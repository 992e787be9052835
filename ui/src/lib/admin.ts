/**
 * What the Admin pages compute from the API's answers: audit filters, who did something, quota rows and changes,
 * and the tenant settings' forms (default models, retention) with the PUT bodies they make.
 */
import type {
  AuditEntry,
  AuditFilter,
  ModelPurpose,
  QuotaLimits,
  QuotaName,
  QuotaPatch,
  QuotaUsage,
  RetentionAges,
  RetentionKind,
  TenantSettings,
  TenantSettingsPatch,
} from '../api/admin';
import type { ApiError } from '../api/request';
import { localInputToIso } from './format';

/** The audit filter form as the user typed it; times are `<input type="datetime-local">` values. */
export interface AuditFilterForm {
  actor: string;
  action: string;
  actorType: string;
  outcome: string;
  target: string;
  from: string;
  to: string;
}

export const emptyAuditFilterForm = (): AuditFilterForm => ({
  actor: '',
  action: '',
  actorType: '',
  outcome: '',
  target: '',
  from: '',
  to: '',
});

/** The API's filter from the form: blanks dropped, text trimmed, local times as ISO instants. */
export function auditFilterOf(form: AuditFilterForm): AuditFilter {
  const filter: AuditFilter = {};
  const text = (v: string) => v.trim() || undefined;
  if (text(form.actor)) filter.actor = text(form.actor);
  if (text(form.action)) filter.action = text(form.action);
  if (text(form.target)) filter.target = text(form.target);
  if (form.actorType) filter.actorType = form.actorType as AuditFilter['actorType'];
  if (form.outcome) filter.outcome = form.outcome as AuditFilter['outcome'];
  const from = localInputToIso(form.from);
  const to = localInputToIso(form.to);
  if (from) filter.from = from;
  if (to) filter.to = to;
  return filter;
}

/** Who acted, in words: the label (an email or a key's name), else the id, else "anonymous". */
export function actorOf(entry: Pick<AuditEntry, 'actorType' | 'actorId' | 'actorLabel'>): string {
  return entry.actorLabel ?? entry.actorId ?? (entry.actorType === 'anonymous' ? 'anonymous' : 'unknown');
}

/** The entry's targets as `kind: id` pairs. */
export const targetsOf = (entry: Pick<AuditEntry, 'targets'>): string[] =>
  Object.entries(entry.targets).map(([k, v]) => `${k}: ${v}`);

export interface QuotaInfo {
  name: QuotaName;
  label: string;
  unit: 'count' | 'bytes';
}

/** In the order the settings page shows them. */
export const QUOTAS: QuotaInfo[] = [
  { name: 'requestsPerMinute', label: 'Requests per minute (per key or session)', unit: 'count' },
  { name: 'runsPerMinute', label: 'Runs started per minute', unit: 'count' },
  { name: 'concurrentRuns', label: 'Running workflows per run kind', unit: 'count' },
  { name: 'maxDocuments', label: 'Documents stored', unit: 'count' },
  { name: 'maxBytes', label: 'Bytes stored', unit: 'bytes' },
  { name: 'dailyTokens', label: 'Model tokens per day (UTC)', unit: 'count' },
];

const count = new Intl.NumberFormat('en');

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A limit as shown: 0 is "no limit". */
export function formatLimit(value: number, unit: QuotaInfo['unit']): string {
  if (value === 0) return 'No limit';
  return unit === 'bytes' ? formatBytes(value) : count.format(value);
}

/** What the tenant uses now against a limit; null where the API counts nothing for it (per-kind concurrency). */
export function usageOf(usage: QuotaUsage['usage'], name: QuotaName): string | null {
  switch (name) {
    case 'requestsPerMinute':
      return `${count.format(usage.requestsThisMinute)} this minute (this key or session)`;
    case 'runsPerMinute':
      return `${count.format(usage.runsThisMinute)} this minute`;
    case 'concurrentRuns': {
      const running = Object.entries(usage.running).filter(([, n]) => n > 0);
      return running.length ? running.map(([kind, n]) => `${kind} ${n}`).join(', ') : 'none running';
    }
    case 'maxDocuments':
      return count.format(usage.documents);
    case 'maxBytes':
      return formatBytes(usage.bytes);
    case 'dailyTokens':
      return `${count.format(usage.tokensToday)} today`;
  }
}

/** The quota form: one text per limit, blank meaning "the platform default". */
export type QuotaForm = Record<QuotaName, string>;

export function quotaFormOf(overrides: Partial<QuotaLimits>): QuotaForm {
  return Object.fromEntries(
    QUOTAS.map((q) => [q.name, overrides[q.name] === undefined ? '' : String(overrides[q.name])]),
  ) as QuotaForm;
}

/**
 * The PUT body that turns `overrides` into what the form says: only the limits that change; a cleared field is null
 * (back to the default). A value that is not a whole number ≥ 0 is an error, named by its quota.
 */
export function quotaPatchOf(
  form: QuotaForm,
  overrides: Partial<QuotaLimits>,
): { patch: QuotaPatch; errors: Partial<Record<QuotaName, string>> } {
  const patch: QuotaPatch = {};
  const errors: Partial<Record<QuotaName, string>> = {};
  for (const { name } of QUOTAS) {
    const text = form[name].trim();
    const current = overrides[name];
    if (text === '') {
      if (current !== undefined) patch[name] = null;
      continue;
    }
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      errors[name] = 'A whole number, 0 for no limit, or blank for the default.';
      continue;
    }
    const value = Number(text);
    if (value !== current) patch[name] = value;
  }
  return { patch, errors };
}

export interface ModelPurposeInfo {
  purpose: ModelPurpose;
  label: string;
  hint: string;
}

/** In the order the settings page shows them. */
export const MODEL_PURPOSES: ModelPurposeInfo[] = [
  { purpose: 'answer', label: 'Answers', hint: 'Writes the answers in Chat and Answers.' },
  { purpose: 'judge', label: 'Grounding judge', hint: 'Checks each claim of an answer against its passages.' },
  { purpose: 'agent', label: 'Agents', hint: 'Plans and calls tools in an agent run that names no model.' },
  { purpose: 'embedding', label: 'Embedding', hint: 'Embeds the documents of collections created from now on.' },
];

/** The model form: one text per purpose, blank meaning "the platform default". */
export type ModelForm = Record<ModelPurpose, string>;

export function modelFormOf(models: TenantSettings['models']): ModelForm {
  return Object.fromEntries(
    MODEL_PURPOSES.map(({ purpose }) => [purpose, models[purpose].source === 'tenant' ? models[purpose].model : '']),
  ) as ModelForm;
}

/** The API's own check of a model name (lib/settings); whether the platform serves it is the API's to say. */
const MODEL_NAME = /^[A-Za-z0-9._:/-]{1,200}$/;

/**
 * The `models` of a PUT body that turns the tenant's defaults into what the form says: only the purposes that
 * change; a cleared field is null (back to the platform default). A name the API would refuse is an error here.
 */
export function modelPatchOf(
  form: ModelForm,
  models: TenantSettings['models'],
): { patch: NonNullable<TenantSettingsPatch['models']>; errors: Partial<Record<ModelPurpose, string>> } {
  const patch: NonNullable<TenantSettingsPatch['models']> = {};
  const errors: Partial<Record<ModelPurpose, string>> = {};
  for (const { purpose } of MODEL_PURPOSES) {
    const text = form[purpose].trim();
    const current = models[purpose].source === 'tenant' ? models[purpose].model : null;
    if (text === '') {
      if (current !== null) patch[purpose] = null;
      continue;
    }
    if (!MODEL_NAME.test(text)) {
      errors[purpose] = 'A model name: up to 200 letters, digits and . _ : / -';
      continue;
    }
    if (text !== current) patch[purpose] = text;
  }
  return { patch, errors };
}

export interface RetentionInfo {
  kind: RetentionKind;
  label: string;
  /** What N days means, in words; the form adds "empty keeps them forever". */
  rule: string;
}

/** In the order the settings page shows them; a Record so a new kind in lib/contracts must be described here. */
const RETENTION_INFO: Record<RetentionKind, Omit<RetentionInfo, 'kind'>> = {
  answers: {
    label: 'Answers',
    rule: 'Answers older than N days are deleted by the retention job, with their citations and claim verdicts.',
  },
  runEvents: {
    label: 'Run events',
    rule: 'The recorded events of runs (streamed tokens, phases, turns) older than N days are deleted.',
  },
  spans: {
    label: 'Trace spans',
    rule: 'Trace spans older than N days are deleted; the run page then shows no waterfall for those runs.',
  },
  modelCalls: {
    label: 'Model calls',
    rule: 'Records of model calls (tokens and cost) older than N days are deleted; Usage no longer counts them.',
  },
  audit: { label: 'Audit log', rule: 'Audit log entries older than N days are deleted.' },
  blobs: {
    label: 'Unused uploads',
    rule: 'An uploaded file that no document uses any more is deleted N days after it was uploaded.',
  },
};

export const RETENTION: RetentionInfo[] = (Object.keys(RETENTION_INFO) as RetentionKind[]).map((kind) => ({
  kind,
  ...RETENTION_INFO[kind],
}));

/** The days a kind may be kept (lib/settings `RETENTION_DAYS`): one day to a hundred years. */
export const RETENTION_DAYS = { min: 1, max: 36_500 } as const;

/** The retention form: days per kind as typed, blank meaning "kept forever". */
export type RetentionForm = Record<RetentionKind, string>;

export function retentionFormOf(ages: Partial<RetentionAges>): RetentionForm {
  return Object.fromEntries(
    RETENTION.map(({ kind }) => [kind, ages[kind] === null || ages[kind] === undefined ? '' : String(ages[kind])]),
  ) as RetentionForm;
}

/** Days as shown: null is "Kept forever". */
export const formatRetention = (days: number | null | undefined): string =>
  days === null || days === undefined ? 'Kept forever' : days === 1 ? '1 day' : `${count.format(days)} days`;

/**
 * The `retention` of a PUT body: only the kinds that change; a cleared field is null (kept forever). A value that
 * is not a whole number of days from 1 to 36,500 is an error, named by its kind.
 */
export function retentionPatchOf(
  form: RetentionForm,
  ages: Partial<RetentionAges>,
): { patch: NonNullable<TenantSettingsPatch['retention']>; errors: Partial<Record<RetentionKind, string>> } {
  const patch: NonNullable<TenantSettingsPatch['retention']> = {};
  const errors: Partial<Record<RetentionKind, string>> = {};
  for (const { kind } of RETENTION) {
    const text = form[kind].trim().replace(/[,_ ]/g, '');
    const current = ages[kind] ?? null;
    if (text === '') {
      if (current !== null) patch[kind] = null;
      continue;
    }
    const days = Number(text);
    if (!/^\d+$/.test(text) || days < RETENTION_DAYS.min || days > RETENTION_DAYS.max) {
      errors[kind] =
        `A whole number of days from ${RETENTION_DAYS.min} to ${count.format(RETENTION_DAYS.max)}, or empty to keep forever.`;
      continue;
    }
    if (days !== current) patch[kind] = days;
  }
  return { patch, errors };
}

/**
 * The API's refusal of a settings PUT, by field: `model_not_available` says "models.<purpose>: why", a validation
 * error lists `details[].path` such as ["retention", "spans"]. What names no field of `section` is left out.
 */
export function settingsErrorsOf<K extends string>(
  err: Pick<ApiError, 'code' | 'message' | 'details'>,
  section: 'models' | 'retention',
  fields: readonly K[],
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  const known = (f: unknown): f is K => typeof f === 'string' && (fields as readonly string[]).includes(f);
  if (Array.isArray(err.details)) {
    for (const d of err.details as Array<{ path?: unknown[]; message?: unknown }>) {
      const [where, field] = d.path ?? [];
      if (where === section && known(field) && typeof d.message === 'string') out[field] = d.message;
    }
  }
  for (const part of err.message.split('; ')) {
    const m = /^(\w+)\.(\w+): ([\s\S]+)$/.exec(part);
    if (m && m[1] === section && known(m[2]) && !out[m[2]]) out[m[2]] = m[3];
  }
  return out;
}
