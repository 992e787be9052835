/**
 * Splits a generated answer into claims, the unit the grounding gate checks: one claim per sentence or list item,
 * with its inline `[n]` citation markers moved out of the text into `citations`. Pure and deterministic.
 *
 * Sentence boundaries come from `sbd`; before it runs, the text is prepared so that it does not stumble on what
 * answers about software contain: periods inside code (`os.path.join()`, `` `a. B` ``, `pyproject.toml`) are masked,
 * and markers written after the final period (`... 3.10. [1] Next`, the local provider's style) are moved before it
 * so they stay with the sentence they cite. Lines are grouped first (list items, headings and blank lines always
 * break; hard-wrapped prose is joined), so a bullet without final punctuation is still one claim.
 *
 * Not claims (skipped): headings (`## Setup`, `**Setup**`, a short title-like line), lead-ins ending with `:`, text
 * without any word, and abstentions ("The documents do not say ...", the local provider's no-answer text).
 */
import sbd from 'sbd';

export interface Claim {
  /** Position among the claims of the answer, from 0. */
  index: number;
  /** The claim's text: markers, list bullets and emphasis removed, whitespace collapsed. */
  text: string;
  /** The citation numbers of its `[n]` markers, each once, in order. */
  citations: number[];
}

/** sbd's English abbreviations (the option replaces its list) plus those of technical prose; `etc` is left out
 * because in documentation it ends sentences more often than not. */
const ABBREVIATIONS = [
  'al',
  'adj',
  'assn',
  'Ave',
  'BSc',
  'MSc',
  'Co',
  'cc',
  'Corp',
  'Dept',
  'eg',
  'Eq',
  'Eqs',
  'est',
  'Ex',
  'ext',
  'Fig',
  'fig',
  'Figs',
  'figs',
  'i.e',
  'ie',
  'e.g',
  'Inc',
  'inc',
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Sept',
  'Oct',
  'Nov',
  'Dec',
  'jr',
  'Miss',
  'Mrs',
  'Mr',
  'Ms',
  'no',
  'No',
  'Nos',
  'PhD',
  'pp',
  'Prof',
  'Dr',
  'pt',
  'Ref',
  'Refs',
  'Rep',
  'rev',
  'Sec',
  'Secs',
  'Sr',
  'sr',
  'Jr',
  'St',
  'Univ',
  'Viz',
  'viz',
  'Vol',
  'vol',
  'vs',
  'v',
  'approx',
  'cf',
  'resp',
  'min',
  'max',
  'sec',
  'incl',
  'esp',
  'ca',
  'dept',
];

/** One citation marker: `[3]`, `[1, 2]`, `[1;2]`, `[2-4]`. */
const MARKER_SRC = String.raw`\[\s*\d{1,4}(?:\s*(?:[,;]|[-–])\s*\d{1,4})*\s*\]`;
const MARKER_RE = new RegExp(MARKER_SRC, 'g');
/** Markers after a sentence's final punctuation: moved before it. */
const TRAILING_MARKERS_RE = new RegExp(String.raw`([.!?…]+)((?:\s*${MARKER_SRC})+)`, 'g');
const ONLY_MARKERS_RE = new RegExp(String.raw`^(?:\s*${MARKER_SRC})+\s*[.!?…]*\s*$`);

// Stand-ins for `.`, `!` and `?` inside code, so sbd never cuts there (private-use characters, restored after).
const MASK: Record<string, string> = { '.': '\uE000', '!': '\uE001', '?': '\uE002' };
const UNMASK: Record<string, string> = { '\uE000': '.', '\uE001': '!', '\uE002': '?' };
const MARKER_OPEN = '\uE003';
const MARKER_CLOSE = '\uE004';

const LIST_ITEM_RE = /^\s*(?:[-*•+–]|\d{1,3}[.)]|[a-zA-Z][.)])\s+/u;
const HEADING_RE = /^\s*#{1,6}\s+/u;
const EMPHASIS_LINE_RE = /^\s*(\*\*|__)[^*_]+\1\s*:?\s*$/u;
const BLOCKQUOTE_RE = /^\s*>\s?/u;

/**
 * Abstentions: a sentence that only says the sources do not answer. Matched on the whole sentence, so a claim that
 * merely contains "not" is never taken for one.
 */
const ABSTENTION_RES: RegExp[] = [
  /\b(?:documents?|sources?|context|passages?|excerpts?|provided (?:text|information|material)|information provided|references?|docs|documentation)\b[^.]*\b(?:do(?:es)?n[’']?t|do(?:es)? not|did not|didn[’']?t|cannot|can[’']?t|fails? to|never)\b[^.]*\b(?:say|state|mention|contain|specify|provide|include|cover|answer|describe|address|discuss|give|explain|indicate|tell)/iu,
  /\b(?:there is|there's|i found|i have|i could find|contains?) (?:no|not enough) (?:information|mention|details?|answer|data)\b/iu,
  /\b(?:i|we) (?:do not|don[’']?t|cannot|can[’']?t) (?:know|say|tell|answer|determine|find)\b/iu,
  /\b(?:not|no) (?:mentioned|specified|stated|covered|addressed|answered) (?:in|by) the (?:documents?|sources?|context|passages?|provided)/iu,
  /\b(?:cannot|can[’']?t|unable to) (?:be )?(?:answer(?:ed)?|determine[d]?) (?:this|that|the question|from)\b/iu,
];

export function isAbstention(sentence: string): boolean {
  return ABSTENTION_RES.some((re) => re.test(sentence));
}

export function splitClaims(answer: string): Claim[] {
  const claims: Claim[] = [];
  for (const block of lineBlocks(answer)) {
    if (block.heading) continue;
    const prepared = maskCode(block.text)
      .replace(TRAILING_MARKERS_RE, (_m, punct: string, markers: string) => `${markers}${punct}`)
      // Glued to the word before, without brackets or spaces: sbd takes a word like `[2].` for an abbreviation.
      .replace(new RegExp(String.raw`\s*(${MARKER_SRC})`, 'g'), (_m, marker: string) => {
        return `${MARKER_OPEN}${marker.slice(1, -1).replace(/\s+/g, '')}${MARKER_CLOSE}`;
      });
    const sentences = sbd.sentences(prepared, { abbreviations: ABBREVIATIONS, sanitize: false });
    for (const raw of sentences) {
      const sentence = unmaskCode(raw).trim();
      const citations = citationNumbers(sentence);
      // A stray marker on its own (e.g. `[2]` at a block end) belongs to the claim before it.
      if (ONLY_MARKERS_RE.test(sentence)) {
        const prev = claims[claims.length - 1];
        if (prev) prev.citations = unique([...prev.citations, ...citations]);
        continue;
      }
      const text = cleanClaimText(sentence);
      if (!isClaim(text, citations.length > 0, block.listItem)) continue;
      claims.push({ index: claims.length, text, citations });
    }
  }
  return claims;
}

/** Citation numbers of every marker in `text`, each once, in order (ranges like `[2-4]` expanded, at most 20). */
export function citationNumbers(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(MARKER_RE)) {
    for (const part of m[0].slice(1, -1).split(/[,;]/)) {
      const range = /^\s*(\d+)\s*[-–]\s*(\d+)\s*$/.exec(part);
      if (range) {
        const from = Number(range[1]);
        const to = Number(range[2]);
        for (let n = from; n <= to && n - from < 20; n++) out.push(n);
      } else {
        const n = Number(part.trim());
        if (Number.isInteger(n)) out.push(n);
      }
    }
  }
  return unique(out.filter((n) => n > 0));
}

/** `text` without citation markers, list bullets, emphasis and blockquote marks; whitespace collapsed. */
export function cleanClaimText(text: string): string {
  return text
    .replace(MARKER_RE, ' ')
    .replace(/(^|\s)\(\s*\)/gu, '$1') // `([1])` leaves empty brackets; `f()` keeps its own
    .replace(LIST_ITEM_RE, '')
    .replace(BLOCKQUOTE_RE, '')
    .replace(/(\*\*|__)(.+?)\1/gu, '$2')
    .replace(/\s+/gu, ' ')
    .replace(/\s+([.,;:!?…)])/gu, '$1')
    .trim();
}

function isClaim(text: string, cited: boolean, listItem: boolean): boolean {
  if (!/[\p{L}\p{N}]/u.test(text)) return false;
  if (isAbstention(text)) return false;
  // A lead-in ("The options are:") introduces the claims that follow; it asserts nothing itself.
  if (!cited && /:\s*$/u.test(text)) return false;
  // A title-like line: short, no final punctuation, not a list item, no citation.
  if (!cited && !listItem && !/[.!?…;)"'”`]$/u.test(text) && text.split(/\s+/u).length <= 8) return false;
  return true;
}

interface Block {
  text: string;
  heading: boolean;
  listItem: boolean;
}

/**
 * Groups lines into blocks sbd splits further: a blank line, a list item, a heading or an emphasised title line
 * starts a new block, and so does a line after a line ending with `:`; other lines continue the block (hard wraps).
 */
function lineBlocks(answer: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | null = null;
  let inFence = false;
  for (const rawLine of answer.replace(/\r\n?/g, '\n').split('\n')) {
    const line = rawLine.trim();
    if (/^(?:```|~~~)/u.test(line)) {
      // Code blocks are quoted material, not claims.
      inFence = !inFence;
      current = null;
      continue;
    }
    if (inFence) continue;
    if (!line) {
      current = null;
      continue;
    }
    const heading = HEADING_RE.test(line) || EMPHASIS_LINE_RE.test(line);
    const listItem = LIST_ITEM_RE.test(line);
    const titleBefore =
      current !== null &&
      !/[.!?…:;,]["'”’)\]]*$/u.test(current.text) &&
      current.text.length <= 60 &&
      /^\p{Lu}/u.test(line);
    if (!current || heading || listItem || current.heading || titleBefore || /:\s*$/u.test(current.text)) {
      current = { text: line, heading, listItem };
      blocks.push(current);
    } else {
      current.text += ` ${line}`;
    }
  }
  return blocks;
}

/** Masks `.`, `!`, `?` inside backticked code and inside dotted names (`os.path.join`, `v1.2`, `setup.py`); dotted
 * abbreviations (`e.g.`, `U.S.`) stay as they are for sbd to recognise. */
function maskCode(text: string): string {
  const masked = text.replace(/`[^`\n]+`/gu, (code) => code.replace(/[.!?]/g, (c) => MASK[c] ?? c));
  return masked.replace(/\S+/gu, (word) =>
    /^\(?(?:\p{L}\.)+\p{L}?\.?,?\)?$/u.test(word)
      ? word
      : word.replace(/(?<=[\p{L}\p{N}_)\]])\.(?=[\p{L}\p{N}_])/gu, MASK['.'] ?? '.'),
  );
}

function unmaskCode(text: string): string {
  return text.replace(/[\uE000-\uE002]/g, (c) => UNMASK[c] ?? c).replace(/\uE003([^\uE004]*)\uE004/g, ' [$1]');
}

function unique(ns: number[]): number[] {
  return [...new Set(ns)];
}
