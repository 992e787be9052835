/**
 * Splits a parsed document into overlapping, token-bounded chunks for embedding and retrieval.
 *
 * - Sizes are in tokens as `estimateTokens` (lib/llm/text.ts) counts them.
 * - Each section is split recursively: paragraphs (blank lines), then single line breaks where a sentence starts
 *   (list items, headings, sentence-final lines), then sentences (`splitSentences`), then the remaining line breaks
 *   (hard-wrapped prose, code), then words, then characters as a last resort, until every piece ("atom") has at most
 *   `chunkSize - chunkOverlap` tokens. Atoms are packed greedily into chunks of at most `chunkSize` tokens; when a
 *   chunk is full it is cut at the strongest of those boundaries that still leaves it at least half full, the latest
 *   such boundary on ties.
 * - Consecutive chunks of one section overlap by about `chunkOverlap` tokens: the next chunk starts inside the end of
 *   the previous one, at a sentence start when that gives at least a third of the wanted overlap, otherwise at a word
 *   start, inside a word only when the last word alone is too long. The overlap is never more than half of either
 *   chunk.
 * - A section that needs several chunks keeps them to itself, with its heading path and page. A trailing piece
 *   smaller than 10% of `chunkSize` is merged into the section's previous chunk when the result fits (greedy packing
 *   already puts everything that fits into the previous chunk, so this is a safety net).
 * - Consecutive sections that each fit in one chunk are packed together (unless `combineSections` is false), like
 *   Unstructured's `combine_text_under_n_chars`: reference pages are mostly short sections (one per function), and a
 *   chunk per section gave many chunks of a few tokens. A packed chunk takes the sections' common heading path and
 *   keeps the headings below it in its text (`documentText` shows each heading where it opens), so nothing a section
 *   was found by is lost. Packing stops at a page change, when the next section would not fit, and once the chunk
 *   holds `combineUnder` tokens, and at a section that goes back to an enclosing heading (it shows no heading line, so
 *   packed it would read as part of the section before it); packed chunks do not overlap their neighbours.
 * - Chunk text is a verbatim, trimmed slice of the document: `documentText(doc).slice(startOffset, endOffset) === text`.
 *
 * Everything is deterministic and linear in the input length.
 */
import { createHash } from 'node:crypto';
import type { ParsedDocument } from '../parse';
import { commonPrefixLength, layoutDocument, samePath } from './layout';
import { chunkSection } from './pack';
import { validateChunkOptions, type ChunkOptions, type DocumentChunk } from './types';

export { documentText } from './layout';
export { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, validateChunkOptions, type ChunkOptions, type DocumentChunk } from './types';

/** The text to embed: the heading path (`A > B`), a blank line, then the chunk text; just the text without headings. */
export function contextualText(chunk: Pick<DocumentChunk, 'headingPath' | 'text'>): string {
  return chunk.headingPath.length ? `${chunk.headingPath.join(' > ')}\n\n${chunk.text}` : chunk.text;
}

/** sha256 hex of the heading path and text (unit/record separators keep the parts unambiguous). */
export function chunkContentHash(headingPath: readonly string[], text: string): string {
  return createHash('sha256')
    .update(`${headingPath.join('\u001f')}\u0000${text}`, 'utf8')
    .digest('hex');
}

/** Chunks every section of `doc` (see the file header). */
export function chunkDocument(doc: ParsedDocument, opts: ChunkOptions): DocumentChunk[] {
  validateChunkOptions(opts);
  const combine = opts.combineSections ?? true;
  const combineUnder = opts.combineUnder ?? opts.chunkSize;
  const layout = layoutDocument(doc);
  const full = layout.text;
  const spans = doc.sections.map((section) => chunkSection(section.text, opts));
  const out: DocumentChunk[] = [];
  const emit = (start: number, end: number, tokens: number, headingPath: string[], page: number | null) => {
    const text = full.slice(start, end);
    out.push({
      ordinal: out.length,
      text,
      headingPath,
      page,
      startOffset: start,
      endOffset: end,
      tokens,
      contentHash: chunkContentHash(headingPath, text),
    });
  };

  let k = 0;
  while (k < doc.sections.length) {
    const section = doc.sections[k]!;
    const own = spans[k]!;
    const base = layout.sections[k]!.textStart;
    if (!combine || own.length !== 1) {
      for (const span of own)
        emit(base + span.start, base + span.end, span.tokens, [...section.headingPath], section.page ?? null);
      k++;
      continue;
    }
    // Pack the following one-chunk sections while they fit. Tokens add up across whitespace (estimateTokens counts
    // runs between spaces), so the packed size is the sum of its parts: the sections' spans and the heading lines
    // between them, plus the first section's own headings below the common path.
    const page = section.page ?? null;
    const first = layout.sections[k]!;
    let path = section.headingPath;
    let start = base + own[0]!.start;
    let headTokens = 0; // the first section's heading lines inside the chunk
    let bodyTokens = own[0]!.tokens; // from the first section's text on
    let end = base + own[0]!.end;
    let m = k + 1;
    while (m < doc.sections.length && headTokens + bodyTokens < combineUnder) {
      const next = doc.sections[m]!;
      const nextSpan = spans[m]!;
      if (nextSpan.length !== 1 || (next.page ?? null) !== page) break;
      const nextPath = path.slice(0, commonPrefixLength(path, next.headingPath));
      // The first section's headings below the common path go into the text, so it starts at the first of them;
      // when one of them was shown earlier (not right before this section) it would be lost: stop instead.
      let nextStart = base + own[0]!.start;
      let nextHead = 0;
      if (nextPath.length < section.headingPath.length) {
        const below = section.headingPath.slice(nextPath.length);
        const lost = below.some(
          (h, i) => h.trim() !== '' && !first.headings.some((shown) => shown.level === nextPath.length + i),
        );
        if (lost) break;
        const shown = first.headings.filter((h) => h.level >= nextPath.length);
        if (shown.length) nextStart = shown[0]!.start; // else the headings below the common path are all blank
        nextHead = shown.reduce((sum, h) => sum + h.tokens, 0);
      }
      const nextLayout = layout.sections[m]!;
      // A section that goes back to an enclosing heading shows no heading line: packed, its text would read as if it
      // still belonged under the previous section's headings.
      if (!nextLayout.headings.length && !samePath(doc.sections[m - 1]!.headingPath, next.headingPath)) break;
      const nextBody = bodyTokens + nextLayout.headings.reduce((sum, h) => sum + h.tokens, 0) + nextSpan[0]!.tokens;
      if (nextHead + nextBody > opts.chunkSize) break;
      path = nextPath;
      start = nextStart;
      headTokens = nextHead;
      bodyTokens = nextBody;
      end = nextLayout.textStart + nextSpan[0]!.end;
      m++;
    }
    emit(start, end, headTokens + bodyTokens, [...path], page);
    k = m;
  }
  return out;
}
