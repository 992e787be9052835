/**
 * Splitting a section into atoms: pieces of at most a token budget, cut recursively at the strongest boundaries
 * (paragraphs, sentence-starting lines, sentences, other lines, words, characters). See ./index.ts.
 */
import { estimateTokens, splitSentences } from '../../llm/text';

/**
 * Boundary strengths, strongest first; also the recursion levels (a piece is split at `level` and weaker). Line
 * breaks where a sentence starts (list items, headings, a line ending a sentence) come before sentences; the other
 * line breaks (hard-wrapped prose, code) only after them, so wrapped prose is cut at sentence ends.
 */
export const PARAGRAPH = 0;
const LINE = 1;
const SENTENCE = 2;
const SOFT_LINE = 3;
const WORD = 4;
const CHAR = 5;

export interface Span {
  start: number;
  end: number;
}
export interface Atom extends Span {
  tokens: number;
  /** Strength of the boundary before this atom. */
  strength: number;
}

const WS_RE = /\s/;
export function isWs(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return WS_RE.test(text.charAt(i));
}
const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** True when `i` falls between the two halves of a surrogate pair (never cut there). */
export function insidePair(text: string, i: number): boolean {
  return i > 0 && isLowSurrogate(text.charCodeAt(i)) && isHighSurrogate(text.charCodeAt(i - 1));
}

/** `[start, end)` without leading and trailing whitespace; null when nothing is left. */
export function trimSpan(text: string, start: number, end: number): Span | null {
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
export function atomize(
  text: string,
  span: Span,
  level: number,
  strength: number,
  maxTokens: number,
  out: Atom[],
): void {
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
