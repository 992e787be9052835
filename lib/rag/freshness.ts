import type { AnswerFreshness, Citation } from '../contracts';

/** Whitespace collapsed and case folded: a passage re-chunked differently still reads the same. */
const normal = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * Which cited passages are no longer in their document word for word. `current` maps each cited document that still
 * exists to its chunks' text now (in order); a document missing from it is gone.
 */
export function changedCitations(citations: Citation[], current: Map<string, string[]>): number[] {
  const bodies = new Map<string, string>();
  const changed: number[] = [];
  for (const c of citations) {
    const chunks = current.get(c.documentId);
    if (!chunks) {
      changed.push(c.n);
      continue;
    }
    let body = bodies.get(c.documentId);
    if (body === undefined) {
      body = normal(chunks.join(' '));
      bodies.set(c.documentId, body);
    }
    if (!body.includes(normal(c.text))) changed.push(c.n);
  }
  return changed;
}

/**
 * The verdict: `current` when nothing it cited changed; otherwise `stale` when the answer is still supported by the
 * documents' text now (score at or above the threshold), `unsupported_now` when it is not or nothing it cited is left.
 */
export function freshnessOf(o: {
  changed: number[];
  anyDocumentLeft: boolean;
  score: number | null;
  threshold: number;
}): AnswerFreshness {
  if (o.changed.length === 0) return 'current';
  if (!o.anyDocumentLeft || o.score === null) return 'unsupported_now';
  return o.score >= o.threshold ? 'stale' : 'unsupported_now';
}
