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
import { estimateTokens, splitSentences } from '../llm/text';
import type { ParsedDocument } from './parse';

export interface ChunkOptions {
  /** Maximum tokens per chunk, 16..8192. */
  chunkSize: number;
  /** Tokens repeated from the end of the previous chunk of the same section, 0 <= chunkOverlap < chunkSize / 2. */
  chunkOverlap: number;
  /** Pack consecutive short sections into one chunk (default true). */
  combineSections?: boolean;
  /** A packed chunk takes no further section once it holds this many tokens (default `chunkSize`: pack while it fits). */
  combineUnder?: number;
}

export interface DocumentChunk {
  /** 0..n-1 in document order. */
  ordinal: number;
  /** The chunk, verbatim from the section (trimmed); no heading prefix (see `contextualText`). */
  text: string;
  headingPath: string[];
  page: number | null;
  /** Character offsets into `documentText(doc)`. */
  startOffset: number;
  endOffset: number;
  /** `estimateTokens(text)`, always <= chunkSize. */
  tokens: number;
  /** sha256 hex of `headingPath.join('\u001f') + '\u0000' + text`. */
  contentHash: string;
}

export const MIN_CHUNK_SIZE = 16;
export const MAX_CHUNK_SIZE = 8192;

/** Headings and sections are joined with this in `documentText`; chunk offsets count it. */
const SEPARATOR = '\n\n';

interface SectionLayout {
  /** The heading lines shown before the section's text: `level` indexes its heading path. */
  headings: Array<{ level: number; start: number; end: number; tokens: number }>;
  /** Where `section.text` starts in `documentText`. */
  textStart: number;
}

/**
 * The document as one text, which chunk offsets index: each section's text, preceded by the headings it opens (the
 * part of its heading path not shared with the previous section's, one line each, whitespace collapsed), all parts
 * joined with a blank line. A section that continues its heading (the same path as the section before it) shows none.
 */
export function documentText(doc: ParsedDocument): string {
  return layoutDocument(doc).text;
}

function layoutDocument(doc: ParsedDocument): { text: string; sections: SectionLayout[] } {
  const parts: string[] = [];
  let pos = 0;
  const add = (part: string): number => {
    if (parts.length > 0) pos += SEPARATOR.length;
    parts.push(part);
    const start = pos;
    pos += part.length;
    return start;
  };
  const sections = doc.sections.map((section, index): SectionLayout => {
    const prev = index > 0 ? doc.sections[index - 1]!.headingPath : [];
    const opened = index > 0 ? commonPrefixLength(prev, section.headingPath) : 0;
    const headings: SectionLayout['headings'] = [];
    for (let level = opened; level < section.headingPath.length; level++) {
      const line = section.headingPath[level]!.replace(/\s+/g, ' ').trim();
      if (line === '') continue;
      const start = add(line);
      headings.push({ level, start, end: start + line.length, tokens: estimateTokens(line) });
    }
    return { headings, textStart: add(section.text) };
  });
  return { text: parts.join(SEPARATOR), sections };
}

const samePath = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && commonPrefixLength(a, b) === a.length;

function commonPrefixLength(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

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

/** Throws a RangeError unless 16 <= chunkSize <= 8192 and 0 <= chunkOverlap < chunkSize / 2 (both integers). */
export function validateChunkOptions(opts: ChunkOptions): void {
  const { chunkSize, chunkOverlap } = opts;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(
      `chunkSize must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} tokens, got ${String(chunkSize)}`,
    );
  }
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap >= chunkSize / 2) {
    throw new RangeError(
      `chunkOverlap must be an integer from 0 to less than half of chunkSize (${chunkSize}), got ${String(chunkOverlap)}`,
    );
  }
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

// ---------------------------------------------------------------------------------------------------------------
// Splitting

/**
 * Boundary strengths, strongest first; also the recursion levels (a piece is split at `level` and weaker). Line
 * breaks where a sentence starts (list items, headings, a line ending a sentence) come before sentences; the other
 * line breaks (hard-wrapped prose, code) only after them, so wrapped prose is cut at sentence ends.
 */
const PARAGRAPH = 0;
const LINE = 1;
const SENTENCE = 2;
const SOFT_LINE = 3;
const WORD = 4;
const CHAR = 5;

interface Span {
  start: number;
  end: number;
}
interface Atom extends Span {
  tokens: number;
  /** Strength of the boundary before this atom. */
  strength: number;
}
interface ChunkSpan extends Span {
  tokens: number;
}

const WS_RE = /\s/;
function isWs(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return WS_RE.test(text.charAt(i));
}
const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** True when `i` falls between the two halves of a surrogate pair (never cut there). */
function insidePair(text: string, i: number): boolean {
  return i > 0 && isLowSurrogate(text.charCodeAt(i)) && isHighSurrogate(text.charCodeAt(i - 1));
}

/** `[start, end)` without leading and trailing whitespace; null when nothing is left. */
function trimSpan(text: string, start: number, end: number): Span | null {
  while (start < end && isWs(text, start)) start++;
  while (end > start && isWs(text, end - 1)) end--;
  return start < end ? { start, end } : null;
}

/** The trimmed, non-empty pieces of `[start, end)` between matches of `separator` (a global regex). */
function splitBetween(text: string, start: number, end: number, separator: RegExp): Span[] {
  const out: Span[] = [];
  let from = start;
  for (const m of text.slice(start, end).matchAll(separator)) {
    const piece = trimSpan(text, from, start + m.index);
    if (piece) out.push(piece);
    from = start + m.index + m[0].length;
  }
  const last = trimSpan(text, from, end);
  if (last) out.push(last);
  return out;
}

const BLANK_LINES_RE = /\n(?:[^\S\n]*\n)+/g;
const NEWLINE_RE = /\n/g;
const WORD_RE = /\S+/g;

/** Splits the trimmed span `[start, end)` at one level; each piece carries the strength of the boundary before it. */
function splitAtLevel(text: string, start: number, end: number, level: number): Atom[] {
  const withStrength = (spans: Span[], strength: number): Atom[] => spans.map((s) => ({ ...s, tokens: 0, strength }));
  switch (level) {
    case PARAGRAPH:
      return withStrength(splitBetween(text, start, end, BLANK_LINES_RE), PARAGRAPH);
    case LINE: {
      // Runs of lines, a new run at each line where a sentence starts.
      const lines = splitBetween(text, start, end, NEWLINE_RE);
      if (lines.length < 2) return [];
      const starts = new Set(splitSentences(text.slice(start, end)).map((s) => start + s.start));
      const runs: Span[] = [];
      for (const line of lines) {
        const run = runs.at(-1);
        if (run && !starts.has(line.start)) run.end = line.end;
        else runs.push({ ...line });
      }
      return withStrength(runs, LINE);
    }
    case SENTENCE:
      return withStrength(
        splitSentences(text.slice(start, end)).map((s) => ({ start: start + s.start, end: start + s.end })),
        SENTENCE,
      );
    case SOFT_LINE:
      return withStrength(splitBetween(text, start, end, NEWLINE_RE), SOFT_LINE);
    default:
      return withStrength(
        [...text.slice(start, end).matchAll(WORD_RE)].map((m) => ({
          start: start + m.index,
          end: start + m.index + m[0].length,
        })),
        WORD,
      );
  }
}

/**
 * Appends to `out` the atoms of the trimmed span `[start, end)`: itself when it has at most `maxTokens` tokens,
 * otherwise its pieces at the first level from `level` on that splits it, recursively.
 */
function atomize(text: string, span: Span, level: number, strength: number, maxTokens: number, out: Atom[]): void {
  const tokens = estimateTokens(text.slice(span.start, span.end));
  if (tokens <= maxTokens) {
    out.push({ ...span, tokens, strength });
    return;
  }
  for (let l = level; l < CHAR; l++) {
    const pieces = splitAtLevel(text, span.start, span.end, l);
    if (pieces.length > 1) {
      pieces.forEach((p, i) => atomize(text, p, l + 1, i === 0 ? strength : p.strength, maxTokens, out));
      return;
    }
  }
  splitChars(text, span, strength, maxTokens, out);
}

/** Last resort for one long run without whitespace: pieces of at most `maxTokens`, cut between code points. */
function splitChars(text: string, span: Span, strength: number, maxTokens: number, out: Atom[]): void {
  // Blocks of 8 code units are measured separately; joining blocks never adds tokens (runs merge), so the sum of
  // the blocks bounds the piece and the packing stays linear.
  let pieceStart = span.start;
  let sum = 0;
  let pos = span.start;
  const emit = (end: number) => {
    out.push({
      start: pieceStart,
      end,
      tokens: estimateTokens(text.slice(pieceStart, end)),
      strength: pieceStart === span.start ? strength : CHAR,
    });
  };
  while (pos < span.end) {
    let next = Math.min(span.end, pos + 8);
    if (next < span.end && insidePair(text, next)) next++;
    const t = estimateTokens(text.slice(pos, next)); // <= 8 < maxTokens
    if (sum + t > maxTokens && pos > pieceStart) {
      emit(pos);
      pieceStart = pos;
      sum = 0;
    }
    sum += t;
    pos = next;
  }
  emit(span.end);
}

// ---------------------------------------------------------------------------------------------------------------
// Packing and overlap

function chunkSection(text: string, opts: ChunkOptions): ChunkSpan[] {
  const { chunkSize, chunkOverlap } = opts;
  const whole = trimSpan(text, 0, text.length);
  if (!whole) return [];
  const atoms: Atom[] = [];
  // Atoms leave room for the overlap, so the first atom after an overlap always fits.
  atomize(text, whole, PARAGRAPH, PARAGRAPH, chunkSize - chunkOverlap, atoms);

  const n = atoms.length;
  const minFill = Math.ceil(chunkSize / 2);
  const out: ChunkSpan[] = [];
  let overlap: Tail | null = null;
  let i = 0;
  while (i < n) {
    const first = atoms[i]!;
    const overlapTokens = overlap?.tokens ?? 0;
    // Greedy: as many atoms as fit after the overlap (always at least one).
    let j = i;
    let sum = 0;
    while (j < n && (j === i || sum + atoms[j]!.tokens <= chunkSize - overlapTokens)) sum += atoms[j++]!.tokens;

    // The chunk is full: cut at the strongest boundary that leaves it at least half full (latest on ties).
    let cut = j;
    let newTokens = sum;
    if (j < n) {
      let bestStrength = atoms[j]!.strength;
      let prefix = overlapTokens + sum;
      for (let k = j - 1; k > i; k--) {
        prefix -= atoms[k]!.tokens;
        if (prefix < minFill) break;
        if (atoms[k]!.strength < bestStrength) {
          bestStrength = atoms[k]!.strength;
          cut = k;
          newTokens = prefix - overlapTokens;
        }
      }
    }
    const end = atoms[cut - 1]!.end;
    const prev = out.at(-1);

    // A tiny trailing piece joins the previous chunk when it fits.
    if (cut === n && prev && newTokens < chunkSize / 10) {
      const merged = estimateTokens(text.slice(prev.start, end));
      if (merged <= chunkSize) {
        prev.end = end;
        prev.tokens = merged;
        break;
      }
    }

    let chunk: ChunkSpan = { start: overlap?.start ?? first.start, end, tokens: 0 };
    chunk.tokens = estimateTokens(text.slice(chunk.start, end));
    // The overlap is at most half of this chunk too (no chunk repeats more than it adds). Runs of words add up, so
    // one shrink is exact; inside a word (character fallback) pieces can merge into fewer tokens, hence the loop.
    while (overlap && prev && 2 * overlap.tokens > chunk.tokens) {
      const limit = Math.min(overlap.tokens - 1, newTokens, Math.floor(chunk.tokens / 2));
      overlap = overlapTail(text, prev, limit);
      chunk = { start: overlap?.start ?? first.start, end, tokens: 0 };
      chunk.tokens = estimateTokens(text.slice(chunk.start, end));
    }
    out.push(chunk);
    i = cut;
    overlap = i < n ? overlapTail(text, chunk, Math.min(chunkOverlap, Math.floor(chunk.tokens / 2))) : null;
  }
  return out;
}

interface Tail {
  start: number;
  tokens: number;
}

/**
 * Where the next chunk starts inside `chunk` so that it repeats at most `limit` tokens of its end: the earliest
 * sentence start within the limit when that gives at least a third of it, else the earliest word start within it, else
 * (the last word alone is over the limit) a position inside the last word. Null when nothing fits.
 */
function overlapTail(text: string, chunk: ChunkSpan, limit: number): Tail | null {
  if (limit <= 0) return null;
  const { start: cs, end: ce } = chunk;

  // Whole words from the end (words are whitespace-separated, so their tokens add up exactly).
  const words: Tail[] = []; // latest first
  let acc = 0;
  let pos = ce;
  let lastWordStart = -1;
  for (;;) {
    let we = pos;
    while (we > cs && isWs(text, we - 1)) we--;
    let ws = we;
    while (ws > cs && !isWs(text, ws - 1)) ws--;
    if (lastWordStart < 0) lastWordStart = ws;
    if (ws <= cs) break; // never the whole chunk
    // A word longer than 8 code units per token of the limit is over it (a token covers at most 8 units).
    const wt = we - ws > 8 * (limit + 1) ? Infinity : estimateTokens(text.slice(ws, we));
    if (acc + wt > limit) break;
    acc += wt;
    words.push({ start: ws, tokens: acc });
    pos = ws;
  }

  const earliest = words.at(-1);
  if (!earliest) return charTail(text, Math.max(lastWordStart, cs + 1), ce, limit);

  // Prefer a sentence start (splitSentences over the tail and some context before it, for abbreviations and lines).
  const windowStart = Math.max(cs, earliest.start - 200);
  const sentenceStarts = new Set(
    splitSentences(text.slice(windowStart, ce))
      .slice(1) // the window's first piece starts where the window does, not at a detected boundary
      .map((s) => windowStart + s.start),
  );
  const minSentenceOverlap = Math.ceil(limit / 3);
  for (let w = words.length - 1; w >= 0; w--) {
    const word = words[w]!;
    if (word.tokens < minSentenceOverlap) break;
    if (sentenceStarts.has(word.start)) return word;
  }
  return earliest;
}

/**
 * A start in `[from, end)` (between code points) whose suffix up to `end` has at most `limit` tokens, as early as a
 * linear scan finds: blocks of 8 code units are counted from the end (their sum bounds the suffix, since joining never
 * adds tokens), then the last partial block code point by code point.
 */
function charTail(text: string, from: number, end: number, limit: number): Tail | null {
  let pos = end;
  let sum = 0;
  for (;;) {
    let next = Math.max(from, pos - 8);
    if (insidePair(text, next)) next++;
    if (next >= pos) break;
    const t = estimateTokens(text.slice(next, pos));
    if (sum + t > limit) {
      // Inside the block: grow one code point at a time while the partial block fits.
      const blockEnd = pos;
      for (let q = blockEnd - 1; q > next; q--) {
        if (insidePair(text, q)) continue;
        if (sum + estimateTokens(text.slice(q, blockEnd)) > limit) break;
        pos = q;
      }
      break;
    }
    sum += t;
    pos = next;
  }
  return pos < end ? { start: pos, tokens: estimateTokens(text.slice(pos, end)) } : null;
}
