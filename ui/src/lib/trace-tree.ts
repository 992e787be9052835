import type { Span } from '../api/types';

export interface SpanRow {
  /** traceId/spanId: unique across the run's traces. */
  key: string;
  span: Span;
  depth: number;
  /** The parent row's key; null for a root. */
  parentKey: string | null;
  /** Keys of the rows directly under this one. */
  childKeys: string[];
  /** Offset and width of the bar, in percent of the whole trace. */
  leftPct: number;
  widthPct: number;
}

export interface TraceLayout {
  rows: SpanRow[];
  startMs: number;
  totalMs: number;
}

export const spanKey = (traceId: string, spanId: string) => `${traceId}/${spanId}`;

/**
 * Orders the flat span list depth-first under its parents and scales every bar to the whole trace. A span whose
 * parent is not in the list is a root; children keep the list's start-time order.
 */
export function layoutTrace(spans: Span[]): TraceLayout {
  if (spans.length === 0) return { rows: [], startMs: 0, totalMs: 0 };

  const keys = new Set(spans.map((s) => spanKey(s.traceId, s.spanId)));
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const span of spans) {
    const parent = span.parentSpanId ? spanKey(span.traceId, span.parentSpanId) : null;
    if (parent && keys.has(parent) && parent !== spanKey(span.traceId, span.spanId)) {
      const list = children.get(parent);
      if (list) list.push(span);
      else children.set(parent, [span]);
    } else {
      roots.push(span);
    }
  }

  let startMs = Infinity;
  let endMs = -Infinity;
  for (const span of spans) {
    const start = Date.parse(span.startTime);
    startMs = Math.min(startMs, start);
    endMs = Math.max(endMs, start + Math.max(0, span.durationMs), Date.parse(span.endTime) || -Infinity);
  }
  const totalMs = Math.max(endMs - startMs, 0);
  const scale = totalMs > 0 ? totalMs : 1;

  const rows: SpanRow[] = [];
  const seen = new Set<string>();
  const visit = (span: Span, depth: number, parent: SpanRow | null) => {
    const key = spanKey(span.traceId, span.spanId);
    if (seen.has(key)) return; // a malformed parent cycle must not loop forever
    seen.add(key);
    const leftPct = clamp(((Date.parse(span.startTime) - startMs) / scale) * 100, 0, 100);
    const widthPct = clamp((Math.max(0, span.durationMs) / scale) * 100, 0, 100 - leftPct);
    const row: SpanRow = { key, span, depth, parentKey: parent?.key ?? null, childKeys: [], leftPct, widthPct };
    parent?.childKeys.push(key);
    rows.push(row);
    for (const child of children.get(key) ?? []) visit(child, depth + 1, row);
  };
  for (const root of roots) visit(root, 0, null);
  // Spans only reachable through a cycle have no root; show them rather than drop them.
  for (const span of spans) visit(span, 0, null);

  return { rows, startMs, totalMs };
}

function clamp(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(Math.max(value, min), max);
}

/** Whether a span's name, service or any attribute value contains `text` (case-insensitive). */
export function spanMatches(span: Span, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  if (span.name.toLowerCase().includes(needle) || span.service.toLowerCase().includes(needle)) return true;
  return Object.entries(span.attributes ?? {}).some(
    ([k, v]) =>
      k.toLowerCase().includes(needle) ||
      String(typeof v === 'string' ? v : JSON.stringify(v))
        .toLowerCase()
        .includes(needle),
  );
}

/**
 * The rows the waterfall shows: without a filter, those whose ancestors are all expanded; with one, every match
 * and the ancestors that lead to it (a filter looks through collapsed branches).
 */
export function visibleRows(rows: SpanRow[], collapsed: ReadonlySet<string>, filter = ''): SpanRow[] {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  if (filter.trim()) {
    const keep = new Set<string>();
    for (const row of rows) {
      if (!spanMatches(row.span, filter)) continue;
      for (
        let r: SpanRow | undefined = row;
        r && !keep.has(r.key);
        r = r.parentKey ? byKey.get(r.parentKey) : undefined
      )
        keep.add(r.key);
    }
    return rows.filter((r) => keep.has(r.key));
  }
  const hidden = new Set<string>();
  return rows.filter((row) => {
    if (row.parentKey && (hidden.has(row.parentKey) || collapsed.has(row.parentKey))) {
      hidden.add(row.key);
      return false;
    }
    return true;
  });
}

/** A zoom window over the trace, as fractions of its whole duration: [start, end] within [0, 1]. */
export interface ZoomWindow {
  start: number;
  end: number;
}

export const FULL_WINDOW: ZoomWindow = { start: 0, end: 1 };
const MIN_WINDOW = 0.001;

/** The window scaled by `factor` (< 1 zooms in) around `center` (a fraction), kept inside the trace. */
export function zoomWindow(w: ZoomWindow, factor: number, center = (w.start + w.end) / 2): ZoomWindow {
  const width = clamp((w.end - w.start) * factor, MIN_WINDOW, 1);
  let start = center - width / 2;
  start = clamp(start, 0, 1 - width);
  return { start, end: start + width };
}

/** A bar's offset and width (percent of the whole trace) placed in the zoom window, clipped to it. */
export function barInWindow(leftPct: number, widthPct: number, w: ZoomWindow): { left: number; width: number } {
  const span = Math.max(w.end - w.start, MIN_WINDOW) * 100;
  const from = clamp(((leftPct - w.start * 100) / span) * 100, 0, 100);
  const to = clamp(((leftPct + widthPct - w.start * 100) / span) * 100, 0, 100);
  return { left: from, width: Math.max(to - from, 0) };
}
