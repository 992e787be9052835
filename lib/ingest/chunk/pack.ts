/**
 * Packing a section's atoms greedily into chunks of at most `chunkSize` tokens, cut at strong boundaries, with the
 * overlap between consecutive chunks. See ./index.ts.
 */
import { estimateTokens, splitSentences } from '../../llm/text';
import { atomize, insidePair, isWs, PARAGRAPH, trimSpan, type Atom, type Span } from './split';
import type { ChunkOptions } from './types';

export interface ChunkSpan extends Span {
  tokens: number;
}

export function chunkSection(text: string, opts: ChunkOptions): ChunkSpan[] {
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
