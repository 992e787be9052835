import type { ContextPassage } from '../contracts';
import { contentTerms } from '../llm/text';
import type { RetrievedChunk } from './retrieve';

/** Share of `a`'s distinct content terms that are also in `b`. */
function containment(a: Set<string>, b: Set<string>): number {
  if (!a.size) return 1;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared++;
  return shared / a.size;
}

/**
 * The context of an answer: retrieved chunks in rank order, without near-duplicates (overlapping neighbours, the same
 * text in two documents: a chunk whose content words are ≥ 90% inside a kept one adds nothing), within a token budget
 * (a chunk that does not fit is skipped, a smaller one further down may still fit; the best chunk is always kept),
 * numbered 1..n as the prompt cites them, with where each comes from.
 */
export function assembleContext(chunks: RetrievedChunk[], maxTokens: number): ContextPassage[] {
  const kept: Array<{ chunk: RetrievedChunk; terms: Set<string> }> = [];
  let used = 0;
  for (const chunk of chunks) {
    const terms = new Set(contentTerms(chunk.text));
    if (kept.some((k) => containment(terms, k.terms) >= 0.9)) continue;
    if (kept.length && used + chunk.tokens > maxTokens) continue;
    kept.push({ chunk, terms });
    used += chunk.tokens;
  }
  return kept.map(({ chunk }, i) => ({
    n: i + 1,
    chunkId: chunk.chunkId,
    documentId: chunk.documentId,
    collectionId: chunk.collectionId,
    documentTitle: chunk.documentTitle,
    source: chunk.source,
    page: chunk.page,
    headingPath: chunk.headingPath,
    text: chunk.text,
    tokens: chunk.tokens,
    score: chunk.score,
  }));
}
