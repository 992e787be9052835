/** What the Admin pages compute from the API's answers: audit filters, who did something, quota rows and changes. */
import type { AuditEntry, AuditFilter, QuotaLimits, QuotaName, QuotaPatch, QuotaUsage } from '../api/admin';
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
