import type { Span } from '../api/types';

export interface SpanRow {
  /** traceId/spanId: unique across the run's traces. */
  key: string;
  span: Span;
  depth: number;
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
  const visit = (span: Span, depth: number) => {
    const key = spanKey(span.traceId, span.spanId);
    if (seen.has(key)) return; // a malformed parent cycle must not loop forever
    seen.add(key);
    const leftPct = clamp(((Date.parse(span.startTime) - startMs) / scale) * 100, 0, 100);
    const widthPct = clamp((Math.max(0, span.durationMs) / scale) * 100, 0, 100 - leftPct);
    rows.push({ key, span, depth, leftPct, widthPct });
    for (const child of children.get(key) ?? []) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // Spans only reachable through a cycle have no root; show them rather than drop them.
  for (const span of spans) visit(span, 0);

  return { rows, startMs, totalMs };
}

function clamp(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(Math.max(value, min), max);
}
