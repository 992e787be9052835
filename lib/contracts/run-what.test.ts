import { describe, expect, it } from 'vitest';
import { clipWhat, describeRun, RUN_WHAT_MAX } from './run-what';
import { RUN_KINDS } from './runs';

describe('describeRun', () => {
  it('says what each kind of run is about', () => {
    expect(describeRun('answer', [{ question: 'What is  the\nrefund policy?' }])).toBe('What is the refund policy?');
    expect(describeRun('search', [{ query: 'refunds' }])).toBe('refunds');
    expect(describeRun('agent', [{ goal: 'Summarize the handbook' }])).toBe('Summarize the handbook');
    expect(describeRun('grounding', [{ answer: 'Paris is in France.' }])).toBe('check: Paris is in France.');
    expect(
      describeRun('llm', [
        {
          messages: [
            { role: 'system', content: 'be brief' },
            { role: 'user', content: 'Say hi' },
          ],
        },
      ]),
    ).toBe('Say hi');
    expect(describeRun('ingest', [{ collectionId: 'c1', documentIds: ['a', 'b', 'c'] }])).toBe('3 documents → c1');
    expect(describeRun('ingest', [{ collectionId: 'c1', documentIds: ['a'] }], { collectionName: 'Handbook' })).toBe(
      '1 document → Handbook',
    );
    expect(describeRun('system', [{ probes: 2, note: 'failover drill' }])).toBe('self-test: 2 probes — failover drill');
  });

  it('answers null rather than guessing, for every kind', () => {
    for (const kind of RUN_KINDS) {
      expect(describeRun(kind, [])).toBeNull();
      expect(describeRun(kind, [null])).toBeNull();
      expect(describeRun(kind, ['just a string'])).toBeNull();
    }
  });

  it('keeps it to one line of at most 200 characters', () => {
    const what = describeRun('answer', [{ question: 'why '.repeat(100) }])!;
    expect(what.length).toBeLessThanOrEqual(RUN_WHAT_MAX);
    expect(what.endsWith('…')).toBe(true);
    expect(clipWhat('a\n\tb')).toBe('a b');
  });
});
