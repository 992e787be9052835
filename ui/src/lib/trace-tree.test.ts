import { describe, expect, it } from 'vitest';
import { span } from './test-fixtures';
import { barInWindow, FULL_WINDOW, layoutTrace, visibleRows, zoomWindow } from './trace-tree';

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

describe('waterfall tree, filter and zoom', () => {
  const spans = [
    span('a', null, 0, 1000),
    span('b', 'a', 100, 300),
    span('d', 'a', 500, 500),
    span('c', 'b', 200, 100),
  ];

  it('links parents and children, and hides the rows under a collapsed span', () => {
    const { rows } = layoutTrace(spans);
    expect(rows.find((r) => r.span.spanId === 'a')!.childKeys).toHaveLength(2);
    const b = rows.find((r) => r.span.spanId === 'b')!;
    expect(visibleRows(rows, new Set()).map((r) => r.span.spanId)).toEqual(['a', 'b', 'c', 'd']);
    expect(visibleRows(rows, new Set([b.key])).map((r) => r.span.spanId)).toEqual(['a', 'b', 'd']);
    expect(visibleRows(rows, new Set([b.parentKey!])).map((r) => r.span.spanId)).toEqual(['a']);
  });

  it('filters on name and attributes, keeping the path to each match, through collapsed spans', () => {
    const withAttr = [...spans.slice(0, 3), span('c', 'b', 200, 100, { attributes: { 'db.table': 'chunks' } })];
    const { rows } = layoutTrace(withAttr);
    const a = rows[0]!;
    expect(visibleRows(rows, new Set([a.key]), 'CHUNKS').map((r) => r.span.spanId)).toEqual(['a', 'b', 'c']);
    expect(visibleRows(rows, new Set(), 'nothing like it')).toEqual([]);
  });

  it('zooms around a point, stays inside the trace, and clips bars to the window', () => {
    const half = zoomWindow(FULL_WINDOW, 0.5);
    expect(half).toEqual({ start: 0.25, end: 0.75 });
    expect(zoomWindow(FULL_WINDOW, 0.5, 0)).toEqual({ start: 0, end: 0.5 });
    expect(zoomWindow(half, 4)).toEqual(FULL_WINDOW);
    expect(barInWindow(50, 50, half)).toEqual({ left: 50, width: 50 });
    expect(barInWindow(0, 10, half)).toEqual({ left: 0, width: 0 });
  });
});
