/**
 * An experiment: one eval run (the candidate) against another (the baseline), item by item (issue 19). Pure and
 * deterministic; the bootstrap is in stats.ts.
 */
import {
  ANSWER_DEFAULTS,
  EVAL_METRICS,
  LOWER_IS_BETTER,
  type EvalItemMetrics,
  type EvalItemResult,
  type EvalMetric,
  type ItemChange,
  type MetricComparison,
} from '../contracts';
import { pairedBootstrap, type BootstrapOptions } from './stats';

/** Per-item differences at most this far apart are ties. */
export const TIE_TOLERANCE = 1e-9;

export interface CompareOptions extends Pick<BootstrapOptions, 'resamples' | 'seed' | 'confidence'> {
  /**
   * The grounding threshold of each run (its config's `groundingThreshold`; default the answer default, 0.75): an
   * item's grounding passed when its grounding score reaches its own run's threshold.
   */
  groundingThresholds?: { baseline?: number; candidate?: number };
}

export interface RunComparison {
  metrics: MetricComparison[];
  /** Paired items whose answer status or grounding pass/fail differs, in the baseline's item order. */
  changed: ItemChange[];
  /** Items of each run in no pair: failed in either run, or absent from the other run. */
  unpaired: { baseline: number; candidate: number };
  pairs: number;
}

type Completed = EvalItemResult & { metrics: EvalItemMetrics };

/**
 * Compares `candidate` with `baseline`. Items pair by `itemId` when both runs completed them (an item listed twice in
 * a run counts once: its completed result, the later one of two alike). Per metric of EVAL_METRICS, over the pairs
 * where both values are non-null: the two means, delta = candidate mean − baseline mean, the paired bootstrap interval
 * of the per-pair deltas (`pairedBootstrap`; null without pairs, [d, d] for one), and wins/losses/ties per item (a
 * win is better for the candidate: higher, or lower for LOWER_IS_BETTER; ties within TIE_TOLERANCE).
 * `questions` (item id → question) fills the changed items' questions ('' when absent).
 */
export function compareRuns(
  baseline: readonly EvalItemResult[],
  candidate: readonly EvalItemResult[],
  questions?: ReadonlyMap<string, string>,
  opts: CompareOptions = {},
): RunComparison {
  const base = byItem(baseline);
  const cand = byItem(candidate);
  const pairs: Array<{ b: Completed; c: Completed }> = [];
  for (const [itemId, b] of base) {
    const c = cand.get(itemId);
    if (isCompleted(b) && c && isCompleted(c)) pairs.push({ b, c });
  }
  // The baseline's item order (then id) makes the bootstrap's input, and so its Monte Carlo draws, independent of
  // the order the results were listed in.
  pairs.sort((x, y) => x.b.index - y.b.index || (x.b.itemId < y.b.itemId ? -1 : x.b.itemId > y.b.itemId ? 1 : 0));

  const metrics = EVAL_METRICS.map((metric) => compareMetric(metric, pairs, opts));

  const threshold = {
    baseline: opts.groundingThresholds?.baseline ?? ANSWER_DEFAULTS.groundingThreshold,
    candidate: opts.groundingThresholds?.candidate ?? ANSWER_DEFAULTS.groundingThreshold,
  };
  const changed: ItemChange[] = [];
  for (const { b, c } of pairs) {
    const side = (r: Completed, t: number) => ({
      answerStatus: r.answerStatus,
      groundingPassed: r.metrics.groundingScore === null ? null : r.metrics.groundingScore >= t,
      answerId: r.answerId,
    });
    const before = side(b, threshold.baseline);
    const after = side(c, threshold.candidate);
    if (before.answerStatus !== after.answerStatus || before.groundingPassed !== after.groundingPassed) {
      changed.push({ itemId: b.itemId, question: questions?.get(b.itemId) ?? '', baseline: before, candidate: after });
    }
  }

  return {
    metrics,
    changed,
    unpaired: { baseline: base.size - pairs.length, candidate: cand.size - pairs.length },
    pairs: pairs.length,
  };
}

function compareMetric(
  metric: EvalMetric,
  pairs: ReadonlyArray<{ b: Completed; c: Completed }>,
  opts: CompareOptions,
): MetricComparison {
  const values: Array<[number, number]> = [];
  for (const { b, c } of pairs) {
    const x = b.metrics[metric] ?? null;
    const y = c.metrics[metric] ?? null;
    if (isValue(x) && isValue(y)) values.push([x, y]);
  }
  const n = values.length;
  if (!n) {
    return { metric, n, baseline: null, candidate: null, delta: null, ci: null, wins: 0, losses: 0, ties: 0 };
  }
  const lowerIsBetter = LOWER_IS_BETTER.includes(metric);
  const deltas = values.map(([x, y]) => y - x);
  let wins = 0;
  let losses = 0;
  let ties = 0;
  for (const d of deltas) {
    if (Math.abs(d) <= TIE_TOLERANCE) ties++;
    else if (lowerIsBetter ? d < 0 : d > 0) wins++;
    else losses++;
  }
  const baselineMean = mean(values.map(([x]) => x));
  const candidateMean = mean(values.map(([, y]) => y));
  return {
    metric,
    n,
    baseline: baselineMean,
    candidate: candidateMean,
    delta: candidateMean - baselineMean,
    ci: pairedBootstrap(deltas, { resamples: opts.resamples, seed: opts.seed, confidence: opts.confidence }),
    wins,
    losses,
    ties,
  };
}

/** One result per item: a completed one over a failed one, the later of two alike. */
function byItem(results: readonly EvalItemResult[]): Map<string, EvalItemResult> {
  const out = new Map<string, EvalItemResult>();
  for (const r of results) {
    const seen = out.get(r.itemId);
    if (!seen || isCompleted(r) || !isCompleted(seen)) out.set(r.itemId, r);
  }
  return out;
}

const isCompleted = (r: EvalItemResult): r is Completed => r.status === 'completed' && r.metrics !== null;
const isValue = (v: number | null): v is number => v !== null && Number.isFinite(v);
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
