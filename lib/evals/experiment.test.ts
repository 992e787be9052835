import { describe, expect, it } from 'vitest';
import type { AnswerStatus, EvalItemMetrics, EvalItemResult, EvalMetric, MetricComparison } from '../contracts';
import { compareRuns } from './experiment';

type Values = Partial<Record<EvalMetric, number | null>>;

function done(index: number, itemId: string, answerStatus: AnswerStatus, v: Values): EvalItemResult {
  const metrics: EvalItemMetrics = {
    recallAtK: null,
    mrr: null,
    citationAccuracy: null,
    factCoverage: null,
    groundingScore: null,
    correctness: null,
    answered: answerStatus === 'answered' ? 1 : 0,
    latencyMs: 0,
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    calls: 1,
    ...v,
  } as EvalItemMetrics;
  return {
    index,
    itemId,
    status: 'completed',
    answerId: `ans-${itemId}-${index}`,
    workflowId: `wf-${itemId}`,
    answerStatus,
    verdicts: null,
    metrics,
  };
}
function failed(index: number, itemId: string): EvalItemResult {
  return {
    index,
    itemId,
    status: 'failed',
    answerId: null,
    workflowId: `wf-${itemId}`,
    answerStatus: null,
    verdicts: null,
    metrics: null,
    error: 'boom',
  };
}

// Four paired items (i1..i4). Unpaired: i5 (the candidate failed it), i6 (baseline only), i8 (the baseline failed it,
// absent from the candidate), i7 (candidate only). i1 is listed twice in the baseline: a failed try, then completed.
const baseline: EvalItemResult[] = [
  failed(0, 'i1'),
  done(0, 'i1', 'answered', {
    recallAtK: 1,
    mrr: 1,
    factCoverage: 0.5,
    groundingScore: 0.75,
    correctness: 0.5,
    latencyMs: 1000,
    costUsd: 0.01,
  }),
  done(1, 'i2', 'answered', { recallAtK: 0, mrr: 0.5, groundingScore: 1, latencyMs: 2000, costUsd: 0.02 }),
  done(2, 'i3', 'abstained', {
    recallAtK: 0.5,
    mrr: 0.25,
    groundingScore: 0.5,
    correctness: 1,
    latencyMs: 3000,
    costUsd: 0.02,
  }),
  done(3, 'i4', 'answered', { mrr: 0, groundingScore: 1, correctness: 0, latencyMs: 4000, costUsd: 0.01 }),
  done(4, 'i5', 'answered', { recallAtK: 0, mrr: 0, latencyMs: 100_000, costUsd: 5 }),
  done(5, 'i6', 'answered', { recallAtK: 0, mrr: 0, latencyMs: 100_000, costUsd: 5 }),
  failed(7, 'i8'),
];
const candidate: EvalItemResult[] = [
  done(0, 'i1', 'answered', {
    recallAtK: 1,
    mrr: 0.5,
    factCoverage: 0.5,
    groundingScore: 0.5,
    correctness: 1,
    latencyMs: 800,
    costUsd: 0.01,
  }),
  done(1, 'i2', 'abstained', { recallAtK: 1, mrr: 1, groundingScore: 1, latencyMs: 2500, costUsd: 0.01 }),
  done(2, 'i3', 'answered', {
    recallAtK: 0.5,
    mrr: 0.25,
    groundingScore: 0.75,
    correctness: 1,
    latencyMs: 3000,
    costUsd: 0.03,
  }),
  done(3, 'i4', 'answered', {
    recallAtK: 1,
    mrr: 0,
    groundingScore: 1,
    correctness: 0,
    latencyMs: 4000,
    costUsd: 0.01,
  }),
  failed(4, 'i5'),
  done(6, 'i7', 'answered', { recallAtK: 1, mrr: 1, latencyMs: 1, costUsd: 0 }),
];
const questions = new Map([
  ['i1', 'Question one?'],
  ['i2', 'Question two?'],
]);

const byMetric = (metrics: MetricComparison[]) =>
  Object.fromEntries(metrics.map((m) => [m.metric, m])) as Record<EvalMetric, MetricComparison>;

describe('compareRuns', () => {
  const result = compareRuns(baseline, candidate, questions);
  const m = byMetric(result.metrics);

  it('pairs the items both runs completed; counts the others per side', () => {
    expect(result.pairs).toBe(4);
    // baseline: i1..i6, i8 = 7 items, 4 paired; candidate: i1..i5, i7 = 6 items, 4 paired
    expect(result.unpaired).toEqual({ baseline: 3, candidate: 2 });
    expect(result.metrics.map((x) => x.metric)).toEqual([
      'recallAtK',
      'mrr',
      'citationAccuracy',
      'factCoverage',
      'groundingScore',
      'answered',
      'correctness',
      'verdictCorrect',
      'latencyMs',
      'costUsd',
    ]);
  });

  it('recallAtK: 3 pairs with a value (i4 has none in the baseline)', () => {
    // baseline 1, 0, .5 → mean .5; candidate 1, 1, .5 → 5/6; deltas 0, 1, 0.
    // Bootstrap: the mean is K/3 for K ~ Binomial(3, 1/3) draws of the 1: counts 8, 12, 6, 1 of 27
    // (cumulative 8, 20, 26, 27). 95%: .975·27 = 26.325 → K = 3 → 1; .025·27 = .675 → K = 0 → 0.
    expect(m.recallAtK).toMatchObject({ n: 3, baseline: 0.5, wins: 1, losses: 0, ties: 2, ci: { low: 0, high: 1 } });
    expect(m.recallAtK.candidate).toBeCloseTo(5 / 6, 12);
    expect(m.recallAtK.delta).toBeCloseTo(1 / 3, 12);
  });

  it('mrr: 4 pairs, one win, one loss, two ties', () => {
    // baseline 1, .5, .25, 0 and candidate .5, 1, .25, 0: both means .4375, deltas −.5, .5, 0, 0.
    // The mean of 4 draws is (P − M)/8 (P draws of +.5, M of −.5; each index 1/4). Tuples of 256:
    // M=4: 1; M=3,P=0 (the 4th one of the two zeros): 4·2 = 8 → cumulative 9 ≥ .025·256 = 6.4 → low −3/8.
    // Symmetrically the top 1 + 8 tuples: cumulative below +3/8 is 247 < 249.6 → high 3/8.
    expect(m.mrr).toEqual({
      metric: 'mrr',
      n: 4,
      baseline: 0.4375,
      candidate: 0.4375,
      delta: 0,
      ci: { low: -0.375, high: 0.375 },
      wins: 1,
      losses: 1,
      ties: 2,
    });
  });

  it('no pair with a value: nulls; one pair: [d, d]', () => {
    expect(m.citationAccuracy).toEqual({
      metric: 'citationAccuracy',
      n: 0,
      baseline: null,
      candidate: null,
      delta: null,
      ci: null,
      wins: 0,
      losses: 0,
      ties: 0,
    });
    expect(m.factCoverage).toEqual({
      metric: 'factCoverage',
      n: 1,
      baseline: 0.5,
      candidate: 0.5,
      delta: 0,
      ci: { low: 0, high: 0 },
      wins: 0,
      losses: 0,
      ties: 1,
    });
  });

  it('groundingScore and answered', () => {
    // grounding .75, 1, .5, 1 → .5, 1, .75, 1: deltas −.25, 0, .25, 0: as mrr, halved.
    expect(m.groundingScore).toMatchObject({
      n: 4,
      baseline: 0.8125,
      candidate: 0.8125,
      delta: 0,
      ci: { low: -0.1875, high: 0.1875 },
      wins: 1,
      losses: 1,
      ties: 2,
    });
    // answered 1, 1, 0, 1 → 1, 0, 1, 1: deltas 0, −1, 1, 0: as mrr, doubled.
    expect(m.answered).toMatchObject({
      n: 4,
      baseline: 0.75,
      candidate: 0.75,
      delta: 0,
      ci: { low: -0.75, high: 0.75 },
      wins: 1,
      losses: 1,
      ties: 2,
    });
  });

  it('correctness: 3 pairs (i2 has no judge score)', () => {
    // .5, 1, 0 → 1, 1, 0: means .5 and 2/3; deltas .5, 0, 0: the mean is K·.5/3, K ~ Binomial(3, 1/3) → [0, .5].
    expect(m.correctness).toMatchObject({
      n: 3,
      baseline: 0.5,
      wins: 1,
      losses: 0,
      ties: 2,
      ci: { low: 0, high: 0.5 },
    });
    expect(m.correctness.candidate).toBeCloseTo(2 / 3, 12);
    expect(m.correctness.delta).toBeCloseTo(1 / 6, 12);
  });

  it('latency and cost: lower is better', () => {
    // latency 1000, 2000, 3000, 4000 → 800, 2500, 3000, 4000: means 2500 and 2575, deltas −200, +500, 0, 0.
    // A resample's mean is 125·P − 50·M (P draws of +500, M of −200), tuples of 256 (a zero draw has 2 indices):
    //   lowest: M=4 → −200 (1), M=3,P=0 → −150 (4·2 = 8): cumulative 9 ≥ 6.4 → low −150;
    //   highest: P=4 → 500 (1), P=3,M=0 → 375 (8), P=3,M=1 → 325 (4), P=2,M=0 → 250 (24):
    //   cumulative through 325 is 256 − 9 = 247 < 249.6, through 375 it is 255 → high 375.
    expect(m.latencyMs).toEqual({
      metric: 'latencyMs',
      n: 4,
      baseline: 2500,
      candidate: 2575,
      delta: 75,
      ci: { low: -150, high: 375 },
      wins: 1, // i1 faster
      losses: 1, // i2 slower
      ties: 2,
    });
    // cost .01, .02, .02, .01 → .01, .01, .03, .01: i2 cheaper (win), i3 dearer (loss); both means .015.
    expect(m.costUsd).toMatchObject({ n: 4, wins: 1, losses: 1, ties: 2 });
    expect(m.costUsd.baseline).toBeCloseTo(0.015, 12);
    expect(m.costUsd.candidate).toBeCloseTo(0.015, 12);
    expect(m.costUsd.delta).toBeCloseTo(0, 12);
    // deltas 0, −.01, +.01, 0: as mrr, scaled by .02.
    expect(m.costUsd.ci!.low).toBeCloseTo(-0.0075, 12);
    expect(m.costUsd.ci!.high).toBeCloseTo(0.0075, 12);
  });

  it('lists the pairs whose answer status or grounding pass/fail changed', () => {
    // Default threshold .75 for both runs: i1 passed (.75) → failed (.5); i2 answered → abstained;
    // i3 abstained → answered and failed (.5) → passed (.75); i4 unchanged.
    expect(result.changed).toEqual([
      {
        itemId: 'i1',
        question: 'Question one?',
        baseline: { answerStatus: 'answered', groundingPassed: true, answerId: 'ans-i1-0' },
        candidate: { answerStatus: 'answered', groundingPassed: false, answerId: 'ans-i1-0' },
      },
      {
        itemId: 'i2',
        question: 'Question two?',
        baseline: { answerStatus: 'answered', groundingPassed: true, answerId: 'ans-i2-1' },
        candidate: { answerStatus: 'abstained', groundingPassed: true, answerId: 'ans-i2-1' },
      },
      {
        itemId: 'i3',
        question: '',
        baseline: { answerStatus: 'abstained', groundingPassed: false, answerId: 'ans-i3-2' },
        candidate: { answerStatus: 'answered', groundingPassed: true, answerId: 'ans-i3-2' },
      },
    ]);
  });

  it("judges grounding against each run's own threshold", () => {
    // Both at .5: i1 passes in both runs; i3 passes in both (its status still changed).
    const same = compareRuns(baseline, candidate, questions, {
      groundingThresholds: { baseline: 0.5, candidate: 0.5 },
    });
    expect(same.changed.map((c) => c.itemId)).toEqual(['i2', 'i3']);
    // Baseline at .8, candidate at .5: i1 fails (.75 < .8) then passes (.5 ≥ .5).
    const moved = compareRuns(baseline, candidate, undefined, {
      groundingThresholds: { baseline: 0.8, candidate: 0.5 },
    });
    expect(moved.changed.find((c) => c.itemId === 'i1')).toMatchObject({
      question: '',
      baseline: { groundingPassed: false },
      candidate: { groundingPassed: true },
    });
  });

  it('does not depend on the order the results are listed in', () => {
    expect(compareRuns([...baseline].reverse(), [...candidate].reverse(), questions)).toEqual(result);
  });

  it('passes the confidence to the bootstrap', () => {
    // recallAtK deltas 0, 1, 0 at 80%: .1·27 = 2.7 → K = 0; .9·27 = 24.3 → cumulative 26 at K = 2 → 2/3.
    const m80 = byMetric(compareRuns(baseline, candidate, questions, { confidence: 0.8 }).metrics);
    expect(m80.recallAtK.ci).toEqual({ low: 0, high: 2 / 3 });
  });
});
