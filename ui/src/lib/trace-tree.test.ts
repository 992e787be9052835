import { describe, expect, it } from 'vitest';
import { span } from './test-fixtures';
import { layoutTrace } from './trace-tree';

describe('layoutTrace', () => {
  it('orders spans depth-first under their parents and scales bars to the whole trace', () => {
    const spans = [
      span('a', null, 0, 1000),
      span('b', 'a', 100, 300),
      span('d', 'a', 500, 500),
      span('c', 'b', 200, 100),
    ];
    const { rows, totalMs } = layoutTrace(spans);
    expect(totalMs).toBe(1000);
    expect(rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
      ['d', 1],
    ]);
    const d = rows[3]!;
    expect(d.leftPct).toBeCloseTo(50);
    expect(d.widthPct).toBeCloseTo(50);
  });

  it('treats a span whose parent is missing as a root', () => {
    const { rows } = layoutTrace([span('a', null, 0, 10), span('x', 'not-here', 5, 5)]);
    expect(rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['a', 0],
      ['x', 0],
    ]);
  });

  it('keeps spans of different traces apart and survives parent cycles', () => {
    const spans = [
      span('a', null, 0, 10),
      span('a', null, 2, 4, { traceId: 't2' }),
      span('p', 'q', 1, 1),
      span('q', 'p', 1, 1),
    ];
    const { rows } = layoutTrace(spans);
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.key)).size).toBe(4);
  });

  it('handles an empty trace and zero-length spans', () => {
    expect(layoutTrace([]).rows).toEqual([]);
    const { rows } = layoutTrace([span('a', null, 0, 0)]);
    expect(rows[0]).toMatchObject({ leftPct: 0, widthPct: 0 });
  });
});
