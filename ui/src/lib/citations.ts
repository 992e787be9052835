/** An answer's text cut into plain text and citation markers, so [n] can link to its source without v-html. */
export type AnswerSegment = { kind: 'text'; text: string } | { kind: 'cite'; numbers: number[]; raw: string };

/** The same marker syntax the API parses: [3] or [1, 2]. */
const MARKER = /\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]/g;

export function splitCitations(answer: string): AnswerSegment[] {
  const out: AnswerSegment[] = [];
  let at = 0;
  for (const m of answer.matchAll(MARKER)) {
    if (m.index > at) out.push({ kind: 'text', text: answer.slice(at, m.index) });
    out.push({ kind: 'cite', numbers: m[1]!.split(',').map((s) => Number(s.trim())), raw: m[0] });
    at = m.index + m[0].length;
  }
  if (at < answer.length) out.push({ kind: 'text', text: answer.slice(at) });
  return out;
}

export const citationAnchor = (n: number) => `citation-${n}`;

export function answerLink(id: string): string {
  return `/answers/${encodeURIComponent(id)}`;
}
