import type { Span } from '../api/types';

/** A span starting `startMs` after 2025-01-01T00:00:00Z and lasting `durationMs`. */
export function span(spanId: string, parentSpanId: string | null, startMs: number, durationMs: number, extra: Partial<Span> = {}): Span {
  const base = Date.parse('2025-01-01T00:00:00.000Z');
  return {
    traceId: 't1',
    spanId,
    parentSpanId,
    name: `op-${spanId}`,
    kind: 0,
    service: 'beyondcloud-worker',
    startTime: new Date(base + startMs).toISOString(),
    endTime: new Date(base + startMs + durationMs).toISOString(),
    durationMs,
    statusCode: 0,
    statusMessage: null,
    attributes: {},
    events: [],
    ...extra,
  };
}
