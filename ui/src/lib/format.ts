/** Display formatting shared by the pages; all times are shown in the browser's time zone. */

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms <= 0) return '0 ms';
  if (ms < 1) return '<1 ms';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours === 0) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  if (hours < 48) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export function formatTime(date: Date | null | undefined): string {
  return date ? timeOnly.format(date) : '—';
}

/** Milliseconds since `startIso` (for a run or step still going), measured against `now`. */
export function elapsedMs(startIso: string, now: Date): number | null {
  const start = Date.parse(startIso);
  return Number.isNaN(start) ? null : Math.max(0, now.getTime() - start);
}

/** `<input type="datetime-local">` speaks local wall time without a zone; the API speaks ISO instants. */
export function isoToLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value); // a zone-less date-time string is parsed as local time
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function prettyJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

export function humanize(value: string): string {
  return value.replace(/_/g, ' ');
}

/** OpenTelemetry JS SpanKind. */
const spanKinds = ['internal', 'server', 'client', 'producer', 'consumer'];
export function spanKindName(kind: number): string {
  return spanKinds[kind] ?? `kind ${kind}`;
}

export function spanStatusName(code: number): string {
  return code === 1 ? 'ok' : code === 2 ? 'error' : 'unset';
}

/** A 0..1 share as a whole percentage ("83%"); '—' when unknown. */
export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  return `${Math.round(share * 100)}%`;
}

/** Model costs are often fractions of a cent: keep enough digits to tell them apart. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : integer.format(n);
}

/**
 * A workflow id short enough for a table: its kind prefix and the first 8 characters of its own key, without the
 * tenant id every run of the tenant shares (`answer:<tenant>:3f2a9c1b-…` → `answer:3f2a9c1b`).
 */
export function shortRunId(workflowId: string): string {
  const [prefix, ...rest] = workflowId.split(':');
  if (!rest.length) return workflowId.length > 12 ? `${workflowId.slice(0, 12)}…` : workflowId;
  if (prefix === 'batch') {
    // batch:<tenant>:schedule-<schedule id>-<scheduled time> (the time has colons) or batch:<tenant>:sync-<source>-<id>.
    const own = rest.slice(1).join(':');
    const scheduled = /^schedule-([0-9a-f]{8})[0-9a-f-]{28}-\d{4}-\d{2}-\d{2}T(\d{2}:\d{2}:\d{2})Z(\/.*)?$/.exec(own);
    if (scheduled) return `batch:${scheduled[1]} ${scheduled[2]}${scheduled[3] ? ' (child)' : ''}`;
    const child = own.includes('/');
    const base = child ? own.slice(0, own.indexOf('/')) : own;
    return `batch:${base.slice(-8)}${child ? ' (child)' : ''}`;
  }
  const own = rest.at(-1)!;
  const child = own.includes('/') ? own.slice(own.lastIndexOf('/') + 1) : own;
  return `${prefix}:${child.slice(0, 8)}${own.includes('/') ? ' (child)' : ''}`;
}

/** Input and output tokens of a run, "1,234 in · 56 out"; '—' when it made no model calls. */
export function formatTokens(tokens: { input: number; output: number } | null | undefined): string {
  if (!tokens || (tokens.input === 0 && tokens.output === 0)) return '—';
  return `${formatCount(tokens.input)} in · ${formatCount(tokens.output)} out`;
}
