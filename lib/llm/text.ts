/**
 * Small, dependency-free text helpers shared by the LLM layer: normalisation, word tokens, a light English stemmer,
 * stopwords, sentence splitting, a token estimate and a fast 32-bit hash. Everything here is deterministic and pure.
 *
 * - `normalizeText`: Unicode NFKC, then lower case.
 * - `tokenizeWords`: runs of letters/marks/digits; punctuation, symbols, underscores and hyphens separate words;
 *   decimals and thousands stay whole (`3.11`, `1,000`); apostrophes are dropped (`don't` → `dont`) after removing a
 *   possessive `'s` (`Python's` → `python`).
 * - `stem`: plural `-s`/`-es`/`-ies`, `-ing`, `-ed`, final `-y` → `-i` and final `-e` are folded so that
 *   `make`/`makes`/`making` and `study`/`studies`/`studied` meet. Not Porter: small, predictable, English only.
 * - `splitSentences`: see its comment (abbreviations, initials, decimals, list items and headings).
 * - `estimateTokens`: see its comment (word-based, not a real tokenizer).
 */

/** Unicode NFKC + lower case: the form every comparison in this module works on. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

// A word: letters/marks/digits, with internal apostrophes (don't) and, after a digit, decimal or thousands parts.
const WORD_RE = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+|(?<=\p{N})[.,]\p{N}+)*/gu;

/** Words of `text` (already normalised with `normalizeText` when you want case-folded tokens). */
export function tokenizeWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(WORD_RE)) {
    let w = m[0];
    if (w.includes('’') || w.includes("'")) {
      w = w.replace(/['’][sS]$/u, '').replace(/['’]/gu, '');
      if (!w) continue;
    }
    out.push(w);
  }
  return out;
}

const HAS_DIGIT = /\p{N}/u;
const VOWEL = /[aeiouy]/;

/** A light English stemmer for lower-cased words (see the file header). Words with digits are returned unchanged. */
export function stem(word: string): string {
  let w = word;
  if (w.length < 3 || HAS_DIGIT.test(w)) return w;

  // Plurals (and third person -s).
  if (w.length > 3) {
    if (w.endsWith('sses')) w = w.slice(0, -2);
    else if (w.endsWith('ies')) w = `${w.slice(0, -3)}i`;
    else if (/(?:[sxz]|ch|sh)es$/.test(w)) w = w.slice(0, -2);
    else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  }

  // -eed, -ied, -ed, -ing.
  if (w.endsWith('eed')) {
    if (w.length > 5) w = w.slice(0, -1); // agreed → agree; need, seed, speed stay
  } else if (w.endsWith('ied') && w.length > 4) {
    w = `${w.slice(0, -3)}i`; // studied → studi
  } else {
    const suffix = w.endsWith('ing') ? 3 : w.endsWith('ed') ? 2 : 0;
    if (suffix) {
      const base = w.slice(0, -suffix);
      if (base.length >= 2 && VOWEL.test(base)) {
        w = base;
        // running → run, stopped → stop; but call, pass, buzz, add keep their double letter.
        if (w.length >= 4 && /([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1);
      }
    }
  }

  if (w.length > 3 && w.endsWith('y')) w = `${w.slice(0, -1)}i`; // study, studies, studying → studi
  if (w.length >= 3 && w.endsWith('e') && !w.endsWith('ee')) w = w.slice(0, -1); // make, making → mak
  return w;
}

/** Common English function words (lower case, apostrophes removed as `tokenizeWords` does). */
export const STOPWORDS: ReadonlySet<string> = new Set(
  `a about above after again against all almost also am an and any are aren arent as at be because been before being
  below between both but by can cannot cant could couldn couldnt did didn didnt do does doesn doesnt doing don dont down
  during each either else ever every few for from further had hadn hadnt has hasn hasnt have haven havent having he hed
  hell her here hers herself hes him himself his how hows however i id if ill im in into is isn isnt it its itself ive
  just least less let lets may me might more most much must mustn mustnt my myself neither no nor not now of off often
  on once one only onto or other others otherwise ought our ours ourselves out over own per quite rather really same
  say says shall shan shant she shed shell shes should shouldn shouldnt since so some such than that thats the their
  theirs them themselves then there theres these they theyd theyll theyre theyve this those though through thus to too
  toward towards under until up upon us very via was wasn wasnt we wed well were weren werent weve what whats when
  whens where wheres whether which while who whom whos whose why whys will with within without won wont would wouldn
  wouldnt yet you youd youll your youre yours yourself yourselves youve`.split(/\s+/),
);

export const isStopword = (word: string): boolean => STOPWORDS.has(word);

/**
 * Content terms of `text`: normalised, tokenised, stopwords removed, stemmed (duplicates kept, in order).
 * `extraStopwords` are dropped too (compared with the unstemmed word).
 */
export function contentTerms(text: string, extraStopwords?: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const w of tokenizeWords(normalizeText(text))) {
    if (STOPWORDS.has(w) || extraStopwords?.has(w)) continue;
    out.push(stem(w));
  }
  return out;
}

/**
 * A token estimate, the same everywhere a real tokenizer is not available: each run of letters/digits counts
 * `ceil(length / 8)` (a short word is one token, long words and identifiers several), each punctuation or symbol
 * character counts one, and each CJK character counts one. Whitespace is free. `estimateTokens('') === 0`.
 * Roughly 1.1–1.3 tokens per English word, the same ballpark as BPE tokenizers; it is an estimate, not a count.
 */
export function estimateTokens(text: string): number {
  // A scan over char codes with an ASCII fast path (this runs over every chunk candidate while chunking); characters
  // past ASCII are classified by Unicode class (cached); text.test.ts checks it against the regex definition.
  let n = 0;
  let run = 0; // code units in the current run of letters/marks/digits
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let kind: CharKind;
    let width = 1;
    if (c < 128) kind = ASCII_KIND[c]!;
    else {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) width = 2;
      kind = unicodeKind(cp);
    }
    if (kind === WORD) {
      run += width;
    } else {
      if (run) n += run > 8 ? Math.ceil(run / 8) : 1;
      run = 0;
      if (kind !== SPACE) n++;
    }
    i += width - 1;
  }
  if (run) n += run > 8 ? Math.ceil(run / 8) : 1;
  return n;
}
const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';

type CharKind = 0 | 1 | 2 | 3;
const WORD = 0; // letter, mark or digit: part of a run
const SPACE = 1; // free
const SINGLE = 2; // punctuation, symbol or control character: one token
const CJK_CHAR = 3; // one token, and it ends a run
const ASCII_KIND = Array.from({ length: 128 }, (_, c): CharKind =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    ? WORD
    : c === 32 || (c >= 9 && c <= 13)
      ? SPACE
      : SINGLE,
);
const CJK_ONE_RE = new RegExp(`^[${CJK}]$`, 'u');
const WORD_CHAR_RE = /^[\p{L}\p{M}\p{N}]$/u;
const SPACE_RE = /^\s$/u;
const unicodeKinds = new Map<number, CharKind>();
function unicodeKind(cp: number): CharKind {
  let kind = unicodeKinds.get(cp);
  if (kind === undefined) {
    const ch = String.fromCodePoint(cp);
    kind = CJK_ONE_RE.test(ch) ? CJK_CHAR : WORD_CHAR_RE.test(ch) ? WORD : SPACE_RE.test(ch) ? SPACE : SINGLE;
    if (unicodeKinds.size < 65536) unicodeKinds.set(cp, kind);
  }
  return kind;
}

/** FNV-1a, 32-bit, over the UTF-16 code units of `s` (from `seed`, the FNV offset basis by default). Unsigned. */
export function fnv1a32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finaliser: spreads the bits of an FNV hash before taking an index and a sign from it. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Sentences

export interface SentenceSpan {
  /** The sentence exactly as in the input (`input.slice(start, end)`), trimmed; it may contain line breaks. */
  text: string;
  start: number;
  end: number;
}

/** Abbreviations after which a period never ends a sentence (lower case, without the final period). */
const ABBREVIATIONS = new Set(
  `mr mrs ms mx dr prof sr jr st mt rev hon gen col lt sgt capt cmdr gov sen rep pres supt insp vs v cf viz approx ca
  e.g i.e al fig figs eq eqs ref refs dept univ assn bros`.split(/\s+/),
);
/** Abbreviations that do not end a sentence when a number follows (`No. 5`, `p. 12`, `Jan. 3`). */
const NUMBER_ABBREVIATIONS = new Set(
  `no nos p pp vol vols ch chap sec sect art para pt op ed n jan feb mar apr jun jul aug sep sept oct nov dec`.split(
    /\s+/,
  ),
);
const LIST_MARKER = /^(?:[-*•+–]\s|#{1,6}\s|\d{1,3}[.)]\s|[a-z][.)]\s)/u;
const ENDS_CLAUSE = /[.!?…。！？:;,]["'”’)\]]*$/u;

/**
 * Splits text into sentences. A sentence ends at `.`, `!`, `?` or `…` (with any closing quotes or brackets) followed
 * by whitespace and then anything but a lower-case letter, or the end of the text; and at CJK `。！？`. A period does
 * not end a sentence after a known abbreviation (`e.g.`, `i.e.`, `Dr.`, `vs.`, `approx.`; `No.`/`p.`/`Jan.` before
 * a number), after a single capital initial (`J. R. R. Tolkien`) or a dotted abbreviation (`U.S.`); decimals and
 * versions (`3.11`, `v1.2.3`) never split because no whitespace follows their periods. Line breaks split too when a
 * blank line, a list item (`- `, `* `, `1. `) or a heading (`# `) starts, when a line ends with `:`, or when a short
 * line (≤ 60 characters) without final punctuation is followed by a capitalised line (a title); otherwise a line
 * break is just whitespace (hard-wrapped prose stays one sentence).
 */
export function splitSentences(text: string): SentenceSpan[] {
  const cuts = new Set<number>();

  // Line-based boundaries.
  const lineRe = /\r?\n/g;
  let lineStart = 0;
  let prevLine: string | null = null;
  let prevEnd = 0;
  const lines: { start: number; end: number }[] = [];
  for (const m of text.matchAll(lineRe)) {
    lines.push({ start: lineStart, end: m.index });
    lineStart = m.index + m[0].length;
  }
  lines.push({ start: lineStart, end: text.length });
  for (const line of lines) {
    const cur = text.slice(line.start, line.end).trim();
    if (prevLine !== null) {
      const prev = prevLine;
      if (
        !prev ||
        !cur ||
        LIST_MARKER.test(cur) ||
        prev.endsWith(':') ||
        (prev.length <= 60 && !ENDS_CLAUSE.test(prev) && /^\p{Lu}/u.test(cur))
      ) {
        cuts.add(prevEnd);
      }
    }
    prevLine = cur;
    prevEnd = line.end;
  }

  // Punctuation-based boundaries.
  const punctRe = /([.!?…]+)["'”’)\]]*(?=\s|$)|[。！？]+["'”’)\]」』]*/gu;
  for (const m of text.matchAll(punctRe)) {
    const end = m.index + m[0].length;
    if (m[1] === undefined) {
      cuts.add(end); // CJK
      continue;
    }
    const next = /\S/u.exec(text.slice(end, end + 200));
    if (next && /\p{Ll}/u.test(next[0])) continue;
    if (m[1] === '.') {
      // The word before the period (without opening quotes/brackets).
      const before = /[^\s]*$/u.exec(text.slice(Math.max(0, m.index - 40), m.index))?.[0] ?? '';
      const word = before.replace(/^["'“‘([]+/u, '');
      const lower = word.toLowerCase();
      if (ABBREVIATIONS.has(lower)) continue;
      if (/^(?:\p{L}\.)+\p{L}$/u.test(word)) continue; // e.g, i.e, U.S
      if (/^\p{Lu}$/u.test(word)) continue; // an initial
      if (NUMBER_ABBREVIATIONS.has(lower) && next && /\p{N}/u.test(next[0])) continue;
    }
    cuts.add(end);
  }

  const sorted = [...cuts].filter((c) => c > 0 && c < text.length).sort((a, b) => a - b);
  sorted.push(text.length);
  const out: SentenceSpan[] = [];
  let from = 0;
  for (const cut of sorted) {
    const raw = text.slice(from, cut);
    const lead = raw.length - raw.trimStart().length;
    const trimmed = raw.trim();
    if (trimmed) out.push({ text: trimmed, start: from + lead, end: from + lead + trimmed.length });
    from = cut;
  }
  return out;
}
