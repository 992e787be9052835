import type { AnswerResult, Citation } from '../api/answer-types';
import type { Span } from '../api/types';

/** A span starting `startMs` after 2025-01-01T00:00:00Z and lasting `durationMs`. */
export function span(
  spanId: string,
  parentSpanId: string | null,
  startMs: number,
  durationMs: number,
  extra: Partial<Span> = {},
): Span {
  const base = Date.parse('2025-01-01T00:00:00.000Z');
  return {
    traceId: 't1',
    spanId,
    parentSpanId,
    name: `op-${spanId}`,
    kind: 0,
    service: 'beyondcloud-worker',
    startTime: new Date(base + startMs).toISOString(),
    endTime: new Date(base + startMs + durationMs).toISOString(),
    durationMs,
    statusCode: 0,
    statusMessage: null,
    attributes: {},
    events: [],
    ...extra,
  };
}

/** A released answer citing two passages, with one supported and one unsupported claim. */
export function answerResult(extra: Partial<AnswerResult> = {}): AnswerResult {
  const citation = (n: number, source: string, text: string, headingPath: string[]): Citation => ({
    n,
    chunkId: `chunk-${n}`,
    documentId: `doc-${n}`,
    collectionId: 'col-1',
    documentTitle: source,
    source,
    page: n === 2 ? 4 : null,
    headingPath,
    text,
    tokens: 20,
    score: 0.5,
  });
  return {
    answerId: 'a1',
    workflowId: 'answer:t1:a1',
    question: 'What is the default pickle protocol?',
    query: 'What is the default pickle protocol?',
    status: 'answered',
    answer: 'The default pickle protocol in Python 3.11 is protocol 5 [1]. It was added in Python 3.8 [1, 2].',
    citations: [
      citation(1, 'pickle.md', 'The default pickle protocol in Python 3.11 is protocol 5.', ['pickle', 'Protocols']),
      citation(2, 'history.md', 'Protocol 5 was added in Python 3.8.', ['History']),
    ],
    grounding: {
      score: 0.5,
      threshold: 0.75,
      passed: false,
      method: 'deterministic',
      claims: [
        {
          claim: 'The default pickle protocol in Python 3.11 is protocol 5.',
          verdict: 'supported',
          confidence: 0.92,
          evidence: { id: '1', span: 'default pickle protocol in Python 3.11 is protocol 5' },
          reason: 'every content word and number is in the evidence',
        },
        {
          claim: 'It was added in Python 3.8.',
          verdict: 'unsupported',
          confidence: 0.4,
          evidence: null,
          reason: 'no passage mentions it',
        },
      ],
    },
    regenerated: false,
    usage: { inputTokens: 1234, outputTokens: 56, costUsd: 0.00042, calls: 3 },
    steps: [
      { name: 'embed', startedAtMs: 0, ms: 12, detail: { dims: 384 } },
      { name: 'retrieve', startedAtMs: 12, ms: 30, detail: { retrieved: 6, passages: 2 } },
      { name: 'generate', startedAtMs: 42, ms: 80 },
    ],
    latencyMs: 140,
    model: 'local-extractive',
    ...extra,
  };
}
