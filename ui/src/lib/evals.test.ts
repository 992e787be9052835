import { describe, expect, it } from 'vitest';
import { EVAL_METRICS, LOWER_IS_BETTER, type EvalAggregate } from '../../../lib/contracts/evals';
import {
  EVAL_METRIC_LIST,
  aggregateValue,
  comparisonText,
  deltaDirection,
  formatDelta,
  formatInterval,
  formatMetric,
  intervalBar,
  intervalScale,
  intervalVerdict,
  lowerIsBetter,
  metricsAcrossRuns,
  optionalNumber,
  promptSelectionFromForm,
  promptsLabel,
} from './evals';

describe('metric list', () => {
  it('matches the contracts: every metric in order, lower-is-better for latency and cost only', () => {
    expect(EVAL_METRIC_LIST).toEqual([...EVAL_METRICS]);
    expect(EVAL_METRIC_LIST.filter(lowerIsBetter)).toEqual([...LOWER_IS_BETTER]);
  });
});

describe('formatMetric and formatDelta', () => {
  it('reads shares in %, scores to 3 places, latency as a duration and cost in dollars', () => {
    expect(formatMetric('recallAtK', 0.8333)).toBe('83.3%');
    expect(formatMetric('mrr', 0.5)).toBe('0.500');
    expect(formatMetric('costUsd', 0.0012)).toBe('$0.0012');
    expect(formatMetric('latencyMs', null)).toBe('—');
    expect(formatMetric('groundingScore', Number.NaN)).toBe('—');
  });

  it('signs deltas in the metric’s unit, with a true minus sign and ±0 for none', () => {
    expect(formatDelta('recallAtK', 0.042)).toBe('+4.2 pp');
    expect(formatDelta('mrr', -0.031)).toBe('−0.031');
    expect(formatDelta('latencyMs', 120.4)).toBe('+120 ms');
    expect(formatDelta('costUsd', -0.0012)).toBe('−$0.0012');
    expect(formatDelta('answered', 0)).toBe('±0');
    expect(formatDelta('answered', null)).toBe('—');
  });

  it('writes an interval as its two bounds', () => {
    expect(formatInterval('factCoverage', { low: -0.1, high: 0.25 })).toBe('−10.0 pp to +25.0 pp');
    expect(formatInterval('factCoverage', null)).toBe('—');
  });
});

describe('better or worse', () => {
  it('is better up for quality metrics and better down for latency and cost', () => {
    expect(deltaDirection('recallAtK', 0.1)).toBe('better');
    expect(deltaDirection('recallAtK', -0.1)).toBe('worse');
    expect(deltaDirection('latencyMs', -50)).toBe('better');
    expect(deltaDirection('costUsd', 0.001)).toBe('worse');
    expect(deltaDirection('mrr', 0)).toBe('same');
    expect(deltaDirection('mrr', null)).toBe('same');
  });

  it('calls a difference only when the 95% interval excludes zero', () => {
    expect(intervalVerdict('groundingScore', { low: 0.02, high: 0.3 })).toBe('better');
    expect(intervalVerdict('groundingScore', { low: -0.3, high: -0.02 })).toBe('worse');
    expect(intervalVerdict('latencyMs', { low: -400, high: -10 })).toBe('better');
    expect(intervalVerdict('costUsd', { low: 0.001, high: 0.002 })).toBe('worse');
    expect(intervalVerdict('mrr', { low: -0.1, high: 0.2 })).toBe('unclear');
    expect(intervalVerdict('mrr', null)).toBe('none');
  });

  it('says in words what the colour says', () => {
    expect(comparisonText({ metric: 'mrr', delta: 0.1, ci: { low: 0.05, high: 0.2 } })).toBe('better');
    expect(comparisonText({ metric: 'mrr', delta: 0.05, ci: { low: -0.05, high: 0.2 } })).toBe(
      'better, not significant',
    );
    expect(comparisonText({ metric: 'latencyMs', delta: 30, ci: null })).toBe('worse');
    expect(comparisonText({ metric: 'answered', delta: 0, ci: { low: 0, high: 0 } })).toBe('no change');
  });
});

describe('intervalBar', () => {
  it('places the interval and the delta on a bar centred on zero', () => {
    expect(intervalBar(0.1, { low: -0.1, high: 0.2 }, 0.2)).toEqual({ left: 25, width: 75, mark: 75 });
  });
  it('clamps to the bar, keeps a zero-width interval visible, and draws a lone delta', () => {
    expect(intervalBar(0, { low: 0, high: 0 }, 0)).toEqual({ left: 50, width: 0.5, mark: 50 });
    expect(intervalBar(5, { low: 4, high: 6 }, 2)).toEqual({ left: 100, width: 0.5, mark: 100 });
    expect(intervalBar(-1, null, 2)).toEqual({ left: 25, width: 0.5, mark: 25 });
    expect(intervalBar(null, null, 1)).toBeNull();
  });
  it('scales by the largest magnitude of deltas and bounds', () => {
    expect(
      intervalScale([
        { delta: 0.1, ci: { low: -0.3, high: 0.2 } },
        { delta: null, ci: null },
      ]),
    ).toBe(0.3);
    expect(intervalScale([])).toBe(0);
  });
});

describe('form helpers', () => {
  it('turns typed prompt choices into versions and labels, leaving blanks out', () => {
    expect(promptSelectionFromForm({ answer: '2', judge: ' candidate ', rewrite: '' })).toEqual({
      answer: 2,
      judge: 'candidate',
    });
    expect(promptSelectionFromForm({ answer: '  ' })).toBeUndefined();
  });
  it('reads optional numbers', () => {
    expect(optionalNumber('')).toBeUndefined();
    expect(optionalNumber(' 8 ')).toBe(8);
    expect(optionalNumber('0.5')).toBe(0.5);
    expect(optionalNumber('x')).toBeUndefined();
    expect(optionalNumber(null)).toBeUndefined();
  });
  it('labels the prompts a run used', () => {
    expect(
      promptsLabel([
        { name: 'answer', version: 2 },
        { name: 'judge', version: 1 },
      ]),
    ).toBe('answer v2 · judge v1');
    expect(promptsLabel([])).toBe('—');
  });
});

describe('aggregates', () => {
  const agg = (over: Partial<EvalAggregate> = {}): EvalAggregate => ({
    items: 4,
    completed: 4,
    failed: 0,
    metrics: {
      recallAtK: { mean: 0.75, n: 4 },
      mrr: { mean: 0.5, n: 4 },
      citationAccuracy: { mean: null, n: 0 },
      factCoverage: { mean: 1, n: 2 },
      groundingScore: { mean: 0.9, n: 4 },
      answered: { mean: 1, n: 4 },
      correctness: { mean: null, n: 0 },
      verdictCorrect: { mean: null, n: 0 },
    },
    abstainRate: 0,
    verdicts: { supported: 8, unsupported: 1, contradicted: 0 },
    latencyMs: { p50: 1200, p95: 2000 },
    tokens: { input: 100, output: 20 },
    costUsd: 0.04,
    calls: 8,
    ...over,
  });
  it('reads means, latency p50 and cost per completed item', () => {
    expect(aggregateValue(agg(), 'recallAtK')).toBe(0.75);
    expect(aggregateValue(agg(), 'latencyMs')).toBe(1200);
    expect(aggregateValue(agg(), 'costUsd')).toBe(0.01);
    expect(aggregateValue(agg({ completed: 0 }), 'costUsd')).toBeNull();
    expect(aggregateValue(null, 'mrr')).toBeNull();
  });
  it('lays the runs out per metric for the chart', () => {
    const rows = metricsAcrossRuns([
      { id: 'a', label: 'a', aggregate: agg() },
      { id: 'b', label: 'b', aggregate: null },
    ]);
    expect(rows.map((r) => r.metric)).toEqual([
      'recallAtK',
      'mrr',
      'citationAccuracy',
      'factCoverage',
      'groundingScore',
      'answered',
    ]);
    expect(rows[0]!.values).toEqual([0.75, null]);
  });
});
