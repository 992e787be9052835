import { describe, expect, it } from 'vitest';
import {
  ABSTAIN_TEXT,
  type AnswerResult,
  type AnswerStatus,
  type Citation,
  type ClaimVerdict,
  type DatasetItem,
  type EvalItemResult,
  type Verdict,
} from '../contracts';
import {
  aggregate,
  factTerms,
  matchesGold,
  missingFactTerms,
  nearestRank,
  scoreGroundingItem,
  scoreItem,
  verdictCounts,
} from './metrics';

// ---------------------------------------------------------------------------------------------------------------
// A fixed dataset of five items and hand-made answers.

let chunkNo = 0;
function passage(documentId: string, source: string, documentTitle: string | null = null): Citation {
  chunkNo++;
  return {
    n: 0,
    chunkId: `chunk-${chunkNo}`,
    documentId,
    collectionId: 'col-1',
    documentTitle,
    source,
    page: null,
    headingPath: [],
    text: `text ${chunkNo}`,
    tokens: 10,
    score: 0.5,
  };
}
const numbered = (ps: Citation[]) => ps.map((p, i) => ({ ...p, n: i + 1 }));
const asContext = (ps: Citation[]): AnswerResult['context'] =>
  ps.map(({ n, chunkId, documentId, collectionId, documentTitle, source }) => ({
    n,
    chunkId,
    documentId,
    collectionId,
    documentTitle,
    source,
  }));

function grounding(score: number, verdicts: Verdict[]): AnswerResult['grounding'] {
  const claims: ClaimVerdict[] = verdicts.map((verdict, i) => ({
    claim: `claim ${i}`,
    verdict,
    confidence: 0.9,
    evidence: null,
    reason: '',
  }));
  return { score, threshold: 0.75, passed: score >= 0.75, method: 'deterministic', claims };
}

function answer(opts: {
  status: AnswerStatus;
  answer: string;
  context?: Citation[];
  citations?: Citation[];
  grounding?: AnswerResult['grounding'];
  latencyMs: number;
  usage: AnswerResult['usage'];
}): AnswerResult {
  return {
    answerId: 'ans',
    workflowId: 'wf',
    question: 'q',
    query: 'q',
    status: opts.status,
    answer: opts.answer,
    citations: opts.citations ?? [],
    grounding: opts.grounding ?? null,
    regenerated: false,
    usage: opts.usage,
    steps: [],
    latencyMs: opts.latencyMs,
    model: 'm',
    ...(opts.context ? { context: asContext(opts.context) } : {}),
  };
}

// Item A: gold by a path suffix and by a title; k = 2 is smaller than the 4-passage context.
const aIntro = passage('doc-intro', 'https://docs.example.com/intro.html', 'Intro');
const aSetup = passage('doc-setup', 'https://docs.example.com/guide/setup.md?v=2#top', 'Setup');
const aFaq = passage('doc-faq', '/srv/kb/faq.txt', 'FAQ');
const aSetup2 = passage('doc-setup', 'https://docs.example.com/guide/setup.md?v=2#top', 'Setup');
const aContext = numbered([aIntro, aSetup, aFaq, aSetup2]);
const itemA: DatasetItem = {
  id: 'a',
  question: 'How do I set it up?',
  goldSources: ['guide/setup.md', 'FAQ'],
  expectedFacts: ['Port 8080 is the default', 'Installing needs 12GB of disk', 'Version 3.10 is required'],
};
const resultA = answer({
  status: 'answered',
  answer: 'The default port is 8080 [2]. The install needs 12 GB of disk space [3].',
  context: aContext,
  citations: [aContext[1]!, aContext[2]!, aContext[0]!],
  grounding: grounding(0.75, ['supported', 'supported', 'supported', 'unsupported']),
  latencyMs: 1000,
  usage: { inputTokens: 500, outputTokens: 50, costUsd: 0.002, calls: 2 },
});

// Item B: gold by file name (a Windows path) and by document id, one duplicate; the match is below k; abstained.
const bContext = numbered([
  passage('doc-1', 'C:\\kb\\notes.txt'),
  passage('doc-1', 'C:\\kb\\notes.txt'),
  passage('doc-2', 'C:\\kb\\Setup.md'),
  passage('doc-9', 's3://bucket/x.pdf'),
]);
const itemB: DatasetItem = {
  id: 'b',
  question: 'Where are the setup notes?',
  goldSources: ['setup.md', 'doc-9', 'SETUP.md'],
  expectedFacts: ['The documents'],
};
const resultB = answer({
  status: 'abstained',
  answer: ABSTAIN_TEXT,
  context: bContext,
  latencyMs: 3000,
  usage: { inputTokens: 800, outputTokens: 20, costUsd: 0.004, calls: 3 },
});

// Item C: no gold sources, no expected facts.
const cContext = numbered([passage('doc-c', 'notes/c.md')]);
const itemC: DatasetItem = { id: 'c', question: 'Anything?' };
const resultC = answer({
  status: 'answered',
  answer: 'Something [1].',
  context: cContext,
  citations: cContext,
  grounding: grounding(1, ['supported', 'supported']),
  latencyMs: 2000,
  usage: { inputTokens: 300, outputTokens: 40, costUsd: 0.001, calls: 1 },
});

// Item D: an answer from before issue 19 (no recorded context); gold by the exact source and by a file name that a
// longer file name must not match; facts with a thousands separator and a number only a citation marker has.
const dGuide = passage('doc-g', 'https://example.org/A%20Guide.html');
const dMySetup = passage('doc-m', 'https://example.org/mysetup.md');
const itemD: DatasetItem = {
  id: 'd',
  question: 'What does it cost?',
  goldSources: ['https://EXAMPLE.org/A%20Guide.html', 'setup.md'],
  expectedFacts: ['Costs $1,000 per year', '2 replicas run'],
};
const resultD = answer({
  status: 'answered',
  answer: 'It costs 1000 dollars per year [1]. Replicas run in every zone [2].',
  citations: numbered([dGuide, dMySetup]),
  grounding: grounding(0.5, ['supported', 'contradicted']),
  latencyMs: 4000,
  usage: { inputTokens: 1000, outputTokens: 100, costUsd: 0.01, calls: 4 },
});

// Item E: rejected by a reviewer: its text states the fact, but an answer not released covers none.
const eContext = numbered([passage('doc-faq', '/srv/kb/faq.txt', 'FAQ')]);
const itemE: DatasetItem = { id: 'e', question: 'Which port?', goldSources: ['FAQ'], expectedFacts: ['Port 8080'] };
const resultE = answer({
  status: 'rejected',
  answer: 'The port is 8080 [1].',
  context: eContext,
  citations: eContext,
  grounding: grounding(0.25, ['supported', 'unsupported', 'unsupported', 'unsupported']),
  latencyMs: 5000,
  usage: { inputTokens: 200, outputTokens: 10, costUsd: 0.0005, calls: 1 },
});

// ---------------------------------------------------------------------------------------------------------------

describe('matchesGold', () => {
  const p = (source: string, documentId = 'doc-x', documentTitle: string | null = null) => ({
    source,
    documentId,
    documentTitle,
  });
  it('matches the source, document id or title, trimmed and case-insensitively', () => {
    expect(matchesGold(p('HTTPS://Docs.Example.com/a.md'), 'https://docs.example.com/a.md')).toBe(true);
    expect(matchesGold(p('x', 'doc-7'), 'DOC-7')).toBe(true);
    expect(matchesGold(p('x', 'doc-x', 'install guide'), ' Install Guide ')).toBe(true);
  });
  it("matches the source's file name, query and fragment ignored, as written or decoded", () => {
    expect(matchesGold(p('https://x.org/docs/a.md?x=1#y'), 'A.md')).toBe(true);
    expect(matchesGold(p('https://x.org/docs/guide/'), 'guide')).toBe(true);
    expect(matchesGold(p('https://example.org/A%20Guide.html'), 'A Guide.html')).toBe(true);
    expect(matchesGold(p('https://example.org/A%20Guide.html'), 'a%20guide.html')).toBe(true);
    expect(matchesGold(p('C:\\kb\\Setup.md'), 'setup.md')).toBe(true);
  });
  it('matches a trailing part of the path that starts at a segment', () => {
    expect(matchesGold(p('/srv/docs/guide/setup.md'), 'guide/setup.md')).toBe(true);
    expect(matchesGold(p('https://x.org/docs/guide/setup.md?v=2'), 'docs/guide/setup.md')).toBe(true);
    expect(matchesGold(p('C:\\kb\\Setup.md'), 'kb\\setup.md')).toBe(true);
  });
  it('matches nothing else', () => {
    expect(matchesGold(p('https://example.org/mysetup.md'), 'setup.md')).toBe(false);
    expect(matchesGold(p('https://example.org/a.md'), 'md')).toBe(false);
    expect(matchesGold(p('https://x.org/docs/a.md'), 'docs')).toBe(false);
    expect(matchesGold(p('a.md', 'doc-1', null), '  ')).toBe(false);
    expect(matchesGold(p('a.md', 'doc-1', null), 'null')).toBe(false);
  });
});

describe('expected facts', () => {
  it('reads digits apart from letters and numbers without thousands separators', () => {
    expect([...factTerms('Installing needs 12GB of disk')]).toEqual(['install', 'need', '12', 'gb', 'disk']);
    expect([...factTerms('Costs $1,000 per year')]).toEqual(['cost', '1000', 'year']);
    expect([...factTerms('H.264 video')]).toEqual([...factTerms('h264 video')]);
  });
  it('lists the missing terms, numbers first; citation markers are not numbers of the answer', () => {
    expect(missingFactTerms('Version 3.10 is required', resultA.answer)).toEqual(['3.10', 'version', 'requir']);
    expect(missingFactTerms('Port 8080 is the default', resultA.answer)).toEqual([]);
    expect(missingFactTerms('2 replicas run', resultD.answer)).toEqual(['2']);
    expect(missingFactTerms('Python 3.1', 'Python 3.10')).toEqual(['3.1']);
  });
});

describe('scoreItem', () => {
  it('A: recall@2 below the context length, MRR, citation accuracy, facts with numbers', () => {
    expect(scoreItem(itemA, resultA, 2)).toEqual({
      recallAtK: 1 / 2, // guide/setup.md at rank 2; FAQ only at rank 3
      mrr: 1 / 2, // first gold passage at rank 2
      citationAccuracy: 2 / 3, // cited setup and FAQ (gold), intro (not)
      factCoverage: 2 / 3, // port 8080 and 12GB covered; version 3.10 not
      groundingScore: 0.75,
      answered: 1,
      latencyMs: 1000,
      inputTokens: 500,
      outputTokens: 50,
      costUsd: 0.002,
      calls: 2,
    });
    expect(scoreItem(itemA, resultA, 3).recallAtK).toBe(1);
    expect(scoreItem(itemA, resultA, 10).recallAtK).toBe(1); // k beyond the context
    expect(scoreItem(itemA, resultA, 1)).toMatchObject({ recallAtK: 0, mrr: 1 / 2 }); // MRR is over the whole context
  });

  it('B: duplicate gold counted once, match after k, no citations, abstained', () => {
    expect(scoreItem(itemB, resultB, 2)).toEqual({
      recallAtK: 0, // 2 distinct gold (setup.md, doc-9), neither in the first 2
      mrr: 1 / 3, // C:\kb\Setup.md at rank 3
      citationAccuracy: null, // no citations
      factCoverage: 0, // abstained: the abstention text's "documents" does not count
      groundingScore: null,
      answered: 0,
      latencyMs: 3000,
      inputTokens: 800,
      outputTokens: 20,
      costUsd: 0.004,
      calls: 3,
    });
    expect(scoreItem(itemB, resultB, 4).recallAtK).toBe(1);
  });

  it('C: no gold sources and no facts: nulls', () => {
    expect(scoreItem(itemC, resultC, 6)).toMatchObject({
      recallAtK: null,
      mrr: null,
      citationAccuracy: null,
      factCoverage: null,
      groundingScore: 1,
      answered: 1,
    });
  });

  it('D: no recorded context: recall and MRR null; citations and facts still scored', () => {
    expect(scoreItem(itemD, resultD, 6)).toMatchObject({
      recallAtK: null,
      mrr: null,
      citationAccuracy: 1 / 2, // A%20Guide.html by the source; mysetup.md is not setup.md
      factCoverage: 1 / 2, // $1,000 = 1000; the "2" is only a citation marker
      groundingScore: 0.5,
      answered: 1,
    });
    expect(scoreItem(itemD, { ...resultD, context: [] }, 6)).toMatchObject({ recallAtK: 0, mrr: 0 });
  });

  it('E: rejected: gold found and cited, but no fact covered', () => {
    expect(scoreItem(itemE, resultE, 6)).toMatchObject({
      recallAtK: 1,
      mrr: 1,
      citationAccuracy: 1,
      factCoverage: 0,
      groundingScore: 0.25,
      answered: 0,
    });
  });

  it('rejects k below 1', () => {
    expect(() => scoreItem(itemA, resultA, 0)).toThrow(RangeError);
  });
});

describe('verdictCounts', () => {
  it('counts the claims by verdict; null without a report', () => {
    expect(verdictCounts(resultA)).toEqual({ supported: 3, contradicted: 0, unsupported: 1 });
    expect(verdictCounts(resultD)).toEqual({ supported: 1, contradicted: 1, unsupported: 0 });
    expect(verdictCounts(resultB)).toBeNull();
  });
});

describe('nearestRank', () => {
  it('takes the value at rank ceil(p/100 · N)', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(nearestRank(twenty, 50)).toBe(10);
    expect(nearestRank(twenty, 95)).toBe(19);
    expect(nearestRank([7], 95)).toBe(7);
    expect(nearestRank([], 50)).toBeNull();
  });
});

describe('aggregate', () => {
  const k = 2;
  const cases: Array<[DatasetItem, AnswerResult, number | null]> = [
    [itemA, resultA, 0.5],
    [itemB, resultB, 0],
    [itemC, resultC, null],
    [itemD, resultD, 1],
    [itemE, resultE, 0],
  ];
  const completed: EvalItemResult[] = cases.map(([item, result, correctness], index) => ({
    index,
    itemId: item.id,
    status: 'completed',
    answerId: result.answerId,
    workflowId: result.workflowId,
    answerStatus: result.status,
    verdicts: verdictCounts(result),
    metrics: { ...scoreItem(item, result, k), correctness },
  }));
  const failed: EvalItemResult[] = [
    {
      index: 5,
      itemId: 'f',
      status: 'failed',
      answerId: null,
      workflowId: 'wf-f',
      answerStatus: null,
      verdicts: null,
      metrics: null,
      error: 'boom',
    },
    // A failed item that carries metrics anyway: left out like any failed item.
    {
      ...completed[0]!,
      index: 6,
      itemId: 'g',
      status: 'failed',
      metrics: { ...completed[0]!.metrics!, latencyMs: 99_999 },
    },
  ];

  it('means over the items where each metric applies, sums, nearest-rank latency', () => {
    const agg = aggregate([...completed, ...failed]);
    expect(agg).toMatchObject({ items: 7, completed: 5, failed: 2 });
    expect(agg.metrics.recallAtK).toEqual({ mean: 0.5, n: 3 }); // A .5, B 0, E 1
    expect(agg.metrics.mrr.n).toBe(3);
    expect(agg.metrics.mrr.mean).toBeCloseTo(11 / 18, 12); // (1/2 + 1/3 + 1) / 3
    expect(agg.metrics.citationAccuracy.n).toBe(3);
    expect(agg.metrics.citationAccuracy.mean).toBeCloseTo(13 / 18, 12); // (2/3 + 1/2 + 1) / 3
    expect(agg.metrics.factCoverage.n).toBe(4);
    expect(agg.metrics.factCoverage.mean).toBeCloseTo(7 / 24, 12); // (2/3 + 0 + 1/2 + 0) / 4
    expect(agg.metrics.groundingScore).toEqual({ mean: 0.625, n: 4 }); // (.75 + 1 + .5 + .25) / 4
    expect(agg.metrics.answered).toEqual({ mean: 0.6, n: 5 }); // A, C, D answered
    expect(agg.metrics.correctness).toEqual({ mean: 0.375, n: 4 }); // (.5 + 0 + 1 + 0) / 4
    expect(agg.abstainRate).toBeCloseTo(0.4, 12);
    expect(agg.verdicts).toEqual({ supported: 7, contradicted: 1, unsupported: 4 }); // A 3/0/1, C 2/0/0, D 1/1/0, E 1/0/3
    // latencies 1000, 2000, 3000, 4000, 5000: p50 rank ceil(2.5) = 3, p95 rank ceil(4.75) = 5
    expect(agg.latencyMs).toEqual({ p50: 3000, p95: 5000 });
    expect(agg.tokens).toEqual({ input: 2800, output: 220 });
    expect(agg.costUsd).toBeCloseTo(0.0175, 12);
    expect(agg.calls).toBe(11);
  });

  it('an empty or all-failed run has no means, no abstain rate and no latency', () => {
    for (const run of [[], failed]) {
      const agg = aggregate(run);
      expect(agg.metrics.recallAtK).toEqual({ mean: null, n: 0 });
      expect(agg.abstainRate).toBeNull();
      expect(agg.latencyMs).toEqual({ p50: null, p95: null });
      expect(agg).toMatchObject({ costUsd: 0, calls: 0, tokens: { input: 0, output: 0 } });
    }
  });
});

describe('grounding items', () => {
  const usage = { latencyMs: 10, inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 };
  const item = (expectedVerdict: 'supported' | 'unsupported' | null) => ({
    id: 'g',
    question: 'q',
    candidateAnswer: 'a',
    context: ['c'],
    expectedVerdict,
  });

  it('scores the verdict against the expected one; nothing of retrieval or facts applies', () => {
    expect(scoreGroundingItem(item('supported'), { passed: true, score: 1 }, usage)).toEqual({
      recallAtK: null,
      mrr: null,
      citationAccuracy: null,
      factCoverage: null,
      groundingScore: 1,
      answered: 1,
      correctness: null,
      verdictCorrect: 1,
      ...usage,
    });
    expect(scoreGroundingItem(item('supported'), { passed: false, score: 0.5 }, usage).verdictCorrect).toBe(0);
    expect(scoreGroundingItem(item('unsupported'), { passed: false, score: 0.5 }, usage).verdictCorrect).toBe(1);
    expect(scoreGroundingItem(item('unsupported'), { passed: true, score: 1 }, usage).verdictCorrect).toBe(0);
    expect(scoreGroundingItem(item(null), { passed: true, score: 1 }, usage).verdictCorrect).toBeNull();
  });

  it('aggregates the confusion and balanced accuracy (by hand: 2 of 3 supported found, 1 of 1 unsupported)', () => {
    const results = (
      [
        ['supported', true],
        ['supported', true],
        ['supported', false],
        ['unsupported', false],
      ] as const
    ).map(([label, passed], index) => ({
      index,
      itemId: `g${index}`,
      status: 'completed' as const,
      answerId: null,
      workflowId: null,
      answerStatus: null,
      verdicts: null,
      metrics: scoreGroundingItem(item(label), { passed, score: passed ? 1 : 0 }, usage),
    }));
    const agg = aggregate(results);
    expect(agg.grounding).toEqual({
      n: 4,
      truePositive: 2,
      falsePositive: 0,
      trueNegative: 1,
      falseNegative: 1,
      accuracy: 0.75,
      balancedAccuracy: (2 / 3 + 1) / 2,
    });
    expect(agg.metrics.verdictCorrect).toEqual({ mean: 0.75, n: 4 });
    // An answer eval has no grounding block.
    expect(aggregate([]).grounding).toBeNull();
  });
});
