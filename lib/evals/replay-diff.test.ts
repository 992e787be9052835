import { describe, expect, it } from 'vitest';
import type { ClaimVerdict, GroundingReport, Verdict } from '../contracts';
import { citationId, diffCitations, diffClaims, metricDelta, summarizeReplay } from './replay-diff';

const claim = (text: string, verdict: Verdict): ClaimVerdict => ({
  claim: text,
  verdict,
  confidence: 1,
  evidence: null,
  reason: '',
});
const report = (claims: ClaimVerdict[]): GroundingReport => ({
  score: claims.length ? claims.filter((c) => c.verdict === 'supported').length / claims.length : 1,
  threshold: 0.75,
  passed: true,
  method: 'deterministic',
  claims,
});

describe('diffClaims', () => {
  it('matches claims by normalized text and reports added, verdict-changed and removed ones', () => {
    const before = report([
      claim('The default pickle protocol is 5.', 'supported'),
      claim('Pickle is  NOT secure.', 'unsupported'),
      claim('json.dumps pretty-prints by default.', 'contradicted'),
    ]);
    const after = report([
      claim('the default pickle protocol is 5.', 'supported'), // same claim, other case: unchanged
      claim('Pickle is not secure.', 'supported'), // other spacing and case: the verdict changed
      claim('Protocol 5 was added in Python 3.8.', 'supported'),
    ]);
    expect(diffClaims(before, after)).toEqual([
      { claim: 'Pickle is not secure.', change: 'verdict_changed', before: 'unsupported', after: 'supported' },
      { claim: 'Protocol 5 was added in Python 3.8.', change: 'added', before: null, after: 'supported' },
      { claim: 'json.dumps pretty-prints by default.', change: 'removed', before: 'contradicted', after: null },
    ]);
  });

  it('treats a missing report as no claims, and a claim said twice once', () => {
    expect(diffClaims(null, report([claim('A.', 'supported'), claim('a.', 'unsupported')]))).toEqual([
      { claim: 'A.', change: 'added', before: null, after: 'supported' },
    ]);
    expect(diffClaims(report([claim('A.', 'supported')]), null)).toEqual([
      { claim: 'A.', change: 'removed', before: 'supported', after: null },
    ]);
    expect(diffClaims(null, null)).toEqual([]);
  });
});

describe('diffCitations', () => {
  it('compares by chunk and names each as source#chunkId', () => {
    const p = (source: string, chunkId: string) => ({ source, chunkId });
    expect(citationId(p('pickle.md', 'c1'))).toBe('pickle.md#c1');
    expect(
      diffCitations(
        [p('pickle.md', 'c1'), p('json.md', 'c2'), p('json.md', 'c2')],
        [p('pickle.md', 'c1'), p('asyncio.md', 'c3'), p('asyncio.md', 'c3')],
      ),
    ).toEqual({ added: ['asyncio.md#c3'], removed: ['json.md#c2'] });
  });
});

describe('metricDelta and summarizeReplay', () => {
  it('computes new − old, with no score delta when a side has no score', () => {
    expect(
      metricDelta(
        { costUsd: 0.1, latencyMs: 1200, groundingScore: 0.5 },
        { costUsd: 0.3, latencyMs: 900, groundingScore: 0.75 },
      ),
    ).toEqual({ costUsd: 0.2, latencyMs: -300, groundingScore: 0.25 });
    expect(
      metricDelta(
        { costUsd: 0, latencyMs: 10, groundingScore: null },
        { costUsd: 0, latencyMs: 10, groundingScore: 1 },
      ),
    ).toEqual({ costUsd: 0, latencyMs: 0, groundingScore: null });
  });

  it('sums the items: counts, claims, citations, deltas, and the answers whose status changed', () => {
    const summary = summarizeReplay([
      {
        answerId: 'a1',
        status: 'completed',
        old: { status: 'answered' },
        new: { status: 'abstained' },
        claims: [
          { claim: 'x', change: 'added', before: null, after: 'supported' },
          { claim: 'y', change: 'verdict_changed', before: 'supported', after: 'unsupported' },
        ],
        citations: { added: ['a#1'], removed: ['b#2', 'c#3'] },
        delta: { costUsd: 0.000125, latencyMs: -200, groundingScore: -0.5 },
      },
      {
        answerId: 'a2',
        status: 'completed',
        old: { status: 'answered' },
        new: { status: 'answered' },
        claims: [{ claim: 'z', change: 'removed', before: 'supported', after: null }],
        citations: { added: [], removed: [] },
        delta: { costUsd: 0.000375, latencyMs: 500, groundingScore: 0.25 },
      },
      {
        answerId: 'a3',
        status: 'failed',
        old: null,
        new: null,
        claims: [],
        citations: { added: [], removed: [] },
        delta: null,
      },
    ]);
    expect(summary).toEqual({
      items: 3,
      completed: 2,
      failed: 1,
      claims: { added: 1, removed: 1, verdictChanged: 1 },
      citations: { added: 1, removed: 2 },
      delta: { costUsd: 0.0005, latencyMs: 300, groundingScore: -0.125 },
      statusChanged: [{ answerId: 'a1', before: 'answered', after: 'abstained' }],
    });
  });
});
