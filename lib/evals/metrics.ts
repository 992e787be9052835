/**
 * The deterministic scores of one eval item (issue 19) and their aggregate over a run. Pure: no database, no model.
 * The LLM-judge correctness score is apart (correctness.ts); the experiment statistics are in experiment.ts.
 */
import type { AnswerResult, DatasetItem, EvalAggregate, EvalItemMetrics, EvalItemResult, Verdict } from '../contracts';
import { contentTerms, normalizeText } from '../llm/text';

// ---------------------------------------------------------------------------------------------------------------
// Gold sources

export interface GoldCandidate {
  source: string;
  documentId: string;
  documentTitle: string | null;
}

/**
 * Whether a passage comes from the document a gold source names. Compared trimmed, NFKC-normalised and
 * case-insensitively, with backslashes read as slashes, a gold source matches when it is:
 * - the passage's source, document id or document title;
 * - the source's file name: the last non-empty path segment of the path or URL, query and fragment ignored, as
 *   written or percent-decoded (`docs/My%20Guide.md` has the file name `my guide.md`);
 * - a trailing part of the source's path that starts at a segment (`guide/setup.md` matches
 *   `https://x.org/docs/guide/setup.md?v=2`, but `setup.md` never matches `.../mysetup.md`).
 */
export function matchesGold(passage: GoldCandidate, gold: string): boolean {
  const g = canonical(gold);
  if (!g) return false;
  const source = canonical(passage.source);
  if (g === source || g === canonical(passage.documentId)) return true;
  if (passage.documentTitle != null && g === canonical(passage.documentTitle)) return true;
  const path = source.replace(/[?#].*$/s, '').replace(/\/+$/, '');
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  if (fileName && (g === fileName || g === safeDecode(fileName))) return true;
  return source.endsWith(`/${g}`) || path.endsWith(`/${g}`) || safeDecode(path).endsWith(`/${g}`);
}

/** Trimmed, NFKC, lower case, backslashes as slashes. */
const canonical = (s: string): string => normalizeText(s.trim()).replace(/\\/g, '/');

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The item's gold sources: blank ones dropped, duplicates (trimmed, case-insensitive) counted once. */
function distinctGold(item: DatasetItem): string[] {
  const seen = new Map<string, string>();
  for (const g of item.goldSources ?? []) {
    const key = canonical(g);
    if (key && !seen.has(key)) seen.set(key, g);
  }
  return [...seen.values()];
}

// ---------------------------------------------------------------------------------------------------------------
// Expected facts

/**
 * The terms a fact is checked by: the content terms of `lib/llm/text.ts` (NFKC, lower case, words, stopwords dropped,
 * light stemming), after separating digits from letters (`12GB` reads as `12 GB`, `H.264` and `h264` both as
 * `h 264`), with thousands separators removed from numbers (`1,000` = `1000`). Numbers are terms like any other word
 * and are compared as written otherwise (`3.1` ≠ `3.10`, `three` ≠ `3`).
 */
export function factTerms(text: string): Set<string> {
  const spaced = text.replace(/(\p{N})(?=\p{L})|(\p{L})(?=\p{N})/gu, '$1$2 ');
  return new Set(
    contentTerms(spaced).map((t) => (/^\p{N}{1,3}(?:,\p{N}{3})+(?:\.\p{N}+)?$/u.test(t) ? t.replace(/,/g, '') : t)),
  );
}

/** Numbers of a text as `factTerms` reads them. */
const isNumber = (term: string): boolean => /^\p{N}+(?:[.,]\p{N}+)*$/u.test(term);

// Citation markers ([2], [1, 3]) are not the answer's numbers.
const CITATION_MARKER = /\[\d{1,4}(?:\s*,\s*\d{1,4})*\]/g;

/**
 * The terms of `fact` missing from `answer` (by `factTerms`), numbers first: empty when the answer covers the fact.
 * A fact is covered when every one of its content terms, and so every number in it, is among the answer's (its
 * citation markers left out). Word order and phrasing do not matter; a fact of stopwords only is covered by any
 * answer.
 */
export function missingFactTerms(fact: string, answer: string): string[] {
  const have = factTerms(answer.replace(CITATION_MARKER, ' '));
  const missing = [...factTerms(fact)].filter((t) => !have.has(t));
  return [...missing.filter(isNumber), ...missing.filter((t) => !isNumber(t))];
}

// ---------------------------------------------------------------------------------------------------------------
// One item

/**
 * The deterministic scores of one answer (correctness, the LLM judge's, is added by the caller):
 * - recallAtK: the share of the item's distinct gold sources that some passage among the first k of `result.context`
 *   matches (`matchesGold`); null without gold sources or without a recorded context (an empty context scores 0).
 * - mrr: 1 / the 1-based rank of the first context passage matching any gold source, over the whole context (the
 *   context is what generation saw, at most topK passages); 0 when none does; null without gold sources or context.
 * - citationAccuracy: the share of the answer's citations that match a gold source; null without gold sources or
 *   without citations.
 * - factCoverage: the share of the expected facts the answer covers (`missingFactTerms` is empty); an answer not
 *   released (abstained or rejected) covers none; null without expected facts.
 * - groundingScore, answered (1 when released), latency, tokens, cost and calls from the result.
 */
export function scoreItem(item: DatasetItem, result: AnswerResult, k: number): Omit<EvalItemMetrics, 'correctness'> {
  if (!(k >= 1)) throw new RangeError(`k must be at least 1, got ${k}`);
  const gold = distinctGold(item);
  const context = result.context;
  const hasGold = gold.length > 0;
  const matchesAny = (p: GoldCandidate) => gold.some((g) => matchesGold(p, g));

  let recallAtK: number | null = null;
  let mrr: number | null = null;
  if (hasGold && context) {
    const top = context.slice(0, Math.floor(k));
    recallAtK = gold.filter((g) => top.some((p) => matchesGold(p, g))).length / gold.length;
    const first = context.findIndex(matchesAny);
    mrr = first < 0 ? 0 : 1 / (first + 1);
  }

  const citationAccuracy =
    hasGold && result.citations.length ? result.citations.filter(matchesAny).length / result.citations.length : null;

  const facts = (item.expectedFacts ?? []).filter((f) => f.trim());
  let factCoverage: number | null = null;
  if (facts.length) {
    const covered = result.status === 'answered' ? facts.filter((f) => !missingFactTerms(f, result.answer).length) : [];
    factCoverage = covered.length / facts.length;
  }

  return {
    recallAtK,
    mrr,
    citationAccuracy,
    factCoverage,
    groundingScore: result.grounding?.score ?? null,
    answered: result.status === 'answered' ? 1 : 0,
    latencyMs: result.latencyMs,
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    costUsd: result.usage.costUsd,
    calls: result.usage.calls,
  };
}

/** The claims of the result's grounding report counted by verdict; null without a report. */
export function verdictCounts(result: Pick<AnswerResult, 'grounding'>): Record<Verdict, number> | null {
  if (!result.grounding) return null;
  const counts: Record<Verdict, number> = { supported: 0, contradicted: 0, unsupported: 0 };
  for (const c of result.grounding.claims) counts[c.verdict]++;
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// A run

type MeanMetric = keyof EvalAggregate['metrics'];
const MEAN_METRICS: readonly MeanMetric[] = [
  'recallAtK',
  'mrr',
  'citationAccuracy',
  'factCoverage',
  'groundingScore',
  'answered',
  'correctness',
  'verdictCorrect',
];

/**
 * The nearest-rank percentile of ascending values: the value at rank ceil(p/100 · N) (1-based, at least 1), so
 * p50 of 4 values is the 2nd and p95 of 20 values the 19th; always a value that occurred. Null without values.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/**
 * A run's aggregate. Metric means are over the completed items where the metric is not null (`n` of them);
 * abstainRate is 1 − the mean of `answered` over completed items (null when none completed); verdicts, tokens, cost
 * and calls are summed over completed items (a failed item's usage is not in its result); latency p50/p95 are
 * nearest-rank percentiles (`nearestRank`) of the completed items' latencies.
 */
export function aggregate(results: readonly EvalItemResult[]): EvalAggregate {
  const done = results.filter(
    (r): r is EvalItemResult & { metrics: EvalItemMetrics } => r.status === 'completed' && r.metrics !== null,
  );
  const metrics = {} as EvalAggregate['metrics'];
  for (const m of MEAN_METRICS) {
    const values = done.map((r) => r.metrics[m]).filter((v): v is number => v !== null && Number.isFinite(v));
    metrics[m] = { mean: values.length ? sum(values) / values.length : null, n: values.length };
  }
  const verdicts: Record<Verdict, number> = { supported: 0, contradicted: 0, unsupported: 0 };
  for (const r of done) {
    if (!r.verdicts) continue;
    verdicts.supported += r.verdicts.supported;
    verdicts.contradicted += r.verdicts.contradicted;
    verdicts.unsupported += r.verdicts.unsupported;
  }
  const latencies = done.map((r) => r.metrics.latencyMs).sort((a, b) => a - b);
  return {
    items: results.length,
    completed: results.filter((r) => r.status === 'completed').length,
    failed: results.filter((r) => r.status === 'failed').length,
    metrics,
    abstainRate: done.length ? 1 - sum(done.map((r) => r.metrics.answered)) / done.length : null,
    verdicts,
    latencyMs: { p50: nearestRank(latencies, 50), p95: nearestRank(latencies, 95) },
    tokens: {
      input: sum(done.map((r) => r.metrics.inputTokens)),
      output: sum(done.map((r) => r.metrics.outputTokens)),
    },
    costUsd: sum(done.map((r) => r.metrics.costUsd)),
    calls: sum(done.map((r) => r.metrics.calls)),
    grounding: groundingConfusion(done),
  };
}

/**
 * Target `grounding`: the confusion of the checks' verdicts against the expected ones over the items scored for it
 * (`verdictCorrect` set; the check passing is "supported", the positive class). Null when no item was.
 */
function groundingConfusion(
  done: ReadonlyArray<EvalItemResult & { metrics: EvalItemMetrics }>,
): EvalAggregate['grounding'] {
  const scored = done.filter((r) => typeof r.metrics.verdictCorrect === 'number');
  if (!scored.length) return null;
  let truePositive = 0;
  let falsePositive = 0;
  let trueNegative = 0;
  let falseNegative = 0;
  for (const r of scored) {
    const predictedSupported = r.metrics.answered === 1;
    const correct = r.metrics.verdictCorrect === 1;
    if (predictedSupported && correct) truePositive++;
    else if (predictedSupported) falsePositive++;
    else if (correct) trueNegative++;
    else falseNegative++;
  }
  const supported = truePositive + falseNegative;
  const unsupported = trueNegative + falsePositive;
  return {
    n: scored.length,
    truePositive,
    falsePositive,
    trueNegative,
    falseNegative,
    accuracy: (truePositive + trueNegative) / scored.length,
    balancedAccuracy: supported && unsupported ? (truePositive / supported + trueNegative / unsupported) / 2 : null,
  };
}

/**
 * A grounding item's scores (target `grounding`) from the check's report: `answered` is whether the check passed
 * (the gate would release the answer), `verdictCorrect` whether that is the expected verdict, `groundingScore` the
 * supported share of claims. No retrieval, citations or facts apply.
 */
export function scoreGroundingItem(
  item: DatasetItem,
  report: { passed: boolean; score: number },
  usage: Pick<EvalItemMetrics, 'latencyMs' | 'inputTokens' | 'outputTokens' | 'costUsd' | 'calls'>,
): EvalItemMetrics {
  return {
    recallAtK: null,
    mrr: null,
    citationAccuracy: null,
    factCoverage: null,
    groundingScore: report.score,
    answered: report.passed ? 1 : 0,
    correctness: null,
    verdictCorrect: item.expectedVerdict ? (report.passed === (item.expectedVerdict === 'supported') ? 1 : 0) : null,
    ...usage,
  };
}

const sum = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0);
