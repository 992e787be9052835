/**
 * Pure helpers of the Evals pages: how each metric reads, whether a delta is better or worse (latency and cost are
 * better lower), the 95% interval as a bar, the prompt selection typed in a form, and the chart of runs over one
 * dataset.
 */
import type {
  EvalAggregate,
  EvalMetric,
  MetricComparison,
  PromptName,
  PromptSelection,
} from '../../../lib/contracts/evals';
import { formatDuration, formatUsd } from './format';

/** Same list and order as lib/contracts EVAL_METRICS and LOWER_IS_BETTER (a type-only import cannot bring values). */
const METRICS: Record<EvalMetric, { label: string; kind: 'share' | 'score' | 'ms' | 'usd'; lowerIsBetter?: true }> = {
  recallAtK: { label: 'Recall@k', kind: 'share' },
  mrr: { label: 'MRR', kind: 'score' },
  citationAccuracy: { label: 'Citation accuracy', kind: 'share' },
  factCoverage: { label: 'Fact coverage', kind: 'share' },
  groundingScore: { label: 'Grounding', kind: 'share' },
  answered: { label: 'Answered', kind: 'share' },
  correctness: { label: 'Correctness (judge)', kind: 'score' },
  verdictCorrect: { label: 'Grounding verdict agreement', kind: 'share' },
  latencyMs: { label: 'Latency', kind: 'ms', lowerIsBetter: true },
  costUsd: { label: 'Cost', kind: 'usd', lowerIsBetter: true },
};
export const EVAL_METRIC_LIST = Object.keys(METRICS) as EvalMetric[];
export const PROMPT_NAME_LIST: PromptName[] = ['answer', 'answer_strict', 'rewrite', 'rerank', 'judge', 'agent'];

export const metricLabel = (m: EvalMetric) => METRICS[m].label;
export const lowerIsBetter = (m: EvalMetric) => METRICS[m].lowerIsBetter === true;

const isNum = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** A metric's value as the tables show it: shares in %, scores to 3 places, latency as a duration, cost in $. */
export function formatMetric(metric: EvalMetric, value: number | null | undefined): string {
  if (!isNum(value)) return '—';
  switch (METRICS[metric].kind) {
    case 'share':
      return `${(value * 100).toFixed(1)}%`;
    case 'score':
      return value.toFixed(3);
    case 'ms':
      return formatDuration(value);
    case 'usd':
      return formatUsd(value);
  }
}

/** A signed difference in the metric's unit: "+4.2 pp", "−0.031", "+120 ms", "−$0.0012"; "±0" when none. */
export function formatDelta(metric: EvalMetric, delta: number | null | undefined): string {
  if (!isNum(delta)) return '—';
  if (delta === 0) return '±0';
  const sign = delta > 0 ? '+' : '−';
  const abs = Math.abs(delta);
  switch (METRICS[metric].kind) {
    case 'share':
      return `${sign}${(abs * 100).toFixed(1)} pp`;
    case 'score':
      return `${sign}${abs.toFixed(3)}`;
    case 'ms':
      return `${sign}${Math.round(abs)} ms`;
    case 'usd':
      return `${sign}${formatUsd(abs)}`;
  }
}

export function formatInterval(metric: EvalMetric, ci: { low: number; high: number } | null | undefined): string {
  if (!ci) return '—';
  return `${formatDelta(metric, ci.low)} to ${formatDelta(metric, ci.high)}`;
}

export type Direction = 'better' | 'worse' | 'same';

/** Whether a delta (candidate − baseline) is an improvement, respecting lower-is-better metrics. */
export function deltaDirection(metric: EvalMetric, delta: number | null | undefined): Direction {
  if (!isNum(delta) || delta === 0) return 'same';
  return delta > 0 !== lowerIsBetter(metric) ? 'better' : 'worse';
}

/**
 * What the 95% interval says: `better` or `worse` when it excludes zero, `unclear` when it spans it, `none` without
 * an interval (too few pairs).
 */
export type Verdict = 'better' | 'worse' | 'unclear' | 'none';
export function intervalVerdict(metric: EvalMetric, ci: { low: number; high: number } | null | undefined): Verdict {
  if (!ci) return 'none';
  if (ci.low > 0 || ci.high < 0) return deltaDirection(metric, ci.low > 0 ? ci.low : ci.high) as 'better' | 'worse';
  return 'unclear';
}

/** The words beside a comparison's colour, so colour is never the only signal. */
export function comparisonText(c: Pick<MetricComparison, 'metric' | 'delta' | 'ci'>): string {
  const verdict = intervalVerdict(c.metric, c.ci);
  if (verdict === 'better' || verdict === 'worse') return verdict;
  const dir = deltaDirection(c.metric, c.delta);
  if (dir === 'same') return 'no change';
  return verdict === 'unclear' ? `${dir}, not significant` : dir;
}

/**
 * Where a comparison's interval and delta sit on a bar symmetric around zero, as percentages of its width: the scale
 * is the largest magnitude among `values` (one scale per metric row keeps bars of several candidates comparable).
 */
export function intervalBar(
  delta: number | null | undefined,
  ci: { low: number; high: number } | null | undefined,
  scale: number,
): { left: number; width: number; mark: number | null } | null {
  if (!isNum(delta) && !ci) return null;
  const s = scale > 0 ? scale : 1;
  const pos = (v: number) => Math.min(100, Math.max(0, 50 + (v / s) * 50));
  const low = ci ? pos(ci.low) : pos(delta!);
  const high = ci ? pos(ci.high) : pos(delta!);
  return { left: low, width: Math.max(high - low, 0.5), mark: isNum(delta) ? pos(delta) : null };
}

/** The largest magnitude among comparisons' deltas and interval bounds (the scale of `intervalBar`). */
export function intervalScale(rows: Array<Pick<MetricComparison, 'delta' | 'ci'>>): number {
  let m = 0;
  for (const r of rows) {
    for (const v of [r.delta, r.ci?.low, r.ci?.high]) if (isNum(v)) m = Math.max(m, Math.abs(v));
  }
  return m;
}

/** An aggregate's value of a metric (the aggregate keeps latency as percentiles and cost as a sum). */
export function aggregateValue(agg: EvalAggregate | null | undefined, metric: EvalMetric): number | null {
  if (!agg) return null;
  if (metric === 'latencyMs') return agg.latencyMs.p50;
  if (metric === 'costUsd') return agg.completed ? agg.costUsd / agg.completed : null;
  return agg.metrics[metric]?.mean ?? null;
}

/**
 * The per-prompt choice typed in a form (`2`, `candidate`, or blank for production) as the API's selection;
 * undefined when nothing is chosen.
 */
export function promptSelectionFromForm(form: Partial<Record<PromptName, string>>): PromptSelection | undefined {
  const out: PromptSelection = {};
  for (const [name, raw] of Object.entries(form) as Array<[PromptName, string | undefined]>) {
    const v = raw?.trim();
    if (!v) continue;
    out[name] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** "answer v2 · judge v1"; "production prompts" when the run has not resolved any yet. */
export function promptsLabel(prompts: Array<{ name: string; version: number }> | null | undefined): string {
  if (!prompts?.length) return '—';
  return prompts.map((p) => `${p.name} v${p.version}`).join(' · ');
}

/** A number input's value as an optional number (blank: left out of the request). */
export function optionalNumber(raw: string | number | null | undefined): number | undefined {
  if (raw === null || raw === undefined) return undefined;
  const text = String(raw).trim();
  if (!text) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** The share metrics the chart over runs plots (all 0..1, so one axis fits them). */
export const CHART_METRICS: EvalMetric[] = [
  'recallAtK',
  'mrr',
  'citationAccuracy',
  'factCoverage',
  'groundingScore',
  'answered',
];

export interface RunPoint {
  id: string;
  label: string;
  aggregate: EvalAggregate | null;
}

/** One row per metric and one value per run (oldest first), for the chart and its table. */
export function metricsAcrossRuns(runs: RunPoint[]): Array<{ metric: EvalMetric; values: Array<number | null> }> {
  return CHART_METRICS.map((metric) => ({ metric, values: runs.map((r) => aggregateValue(r.aggregate, metric)) }));
}
