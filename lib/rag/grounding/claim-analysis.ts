/**
 * A claim, analysed against the evidence index: its weighted content words, numbers and code names with the words
 * around them (their role), names, months, negations, clauses and anchors.
 */
import { NOVEL_WEIGHT } from './thresholds';
import type { EvidenceIndex } from './evidence';
import {
  LIGHT_STEMS,
  META_WORDS,
  MONTHS,
  UNITS,
  isContent,
  negatedStems,
  stemMatch,
  stemWord,
  tokenize,
  type Token,
} from './lexicon';
import { anchorsOf, codeNames, escapeRe, findSeq, nameWords, type Anchor, type CodeName } from './names';

export interface ClaimTerm {
  stem: string;
  word: string;
  weight: number;
  name: boolean;
  /** The word joined with its neighbour (`block size` → `blocksize`): a compound the evidence may write as one. */
  joins: string[];
}

export interface ClaimNumber {
  value: string;
  /** Written as a word ("two places"): often a count the writer made, not a figure copied from the source. */
  spelled: boolean;
  unit?: { id: string; text: string };
  context: Set<string>;
}

export interface ClaimAnalysis {
  text: string;
  tokens: Token[];
  terms: ClaimTerm[];
  numbers: ClaimNumber[];
  /** `subject`: the name is what the claim is about (see isSubjectAt). */
  codes: (CodeName & { context: Set<string>; subject: boolean })[];
  names: Set<string>;
  months: Set<string>;
  negated: Set<string>;
  stems: Set<string>;
  /** Stems of the claim that no passage uses. */
  novel: Set<string>;
  /** Content stem → the content stems of its clause ("X is not destroyed when closed; it must be removed"). */
  clauses: Map<string, Set<string>>;
  anchors: Anchor[];
}

export function analyseClaim(text: string, index: EvidenceIndex): ClaimAnalysis {
  const tokens = tokenize(text);
  const names = nameWords(text);
  const seen = new Set<string>();
  const terms: ClaimTerm[] = [];
  tokens.forEach((t, i) => {
    if (!isContent(t) || META_WORDS.has(t.word) || seen.has(t.stem)) return;
    seen.add(t.stem);
    const name = names.has(t.word);
    const novel = !index.stems.has(t.stem);
    // A word the evidence never uses is what a hallucination adds; names and the claim's subject get no such
    // weight, because the topic ("Python" in the Python docs, "the ssl module") often goes unsaid in the passage.
    const subject = novel && isSubjectAt(text, wordOffset(text, t.cased));
    const weight = LIGHT_STEMS.has(t.stem) ? 0.5 : name || subject ? 1 : novel ? NOVEL_WEIGHT : 1;
    const joins = [tokens[i - 1], tokens[i + 1]]
      .map((n, k) => (n && n.num === undefined ? stemWord(k ? `${t.word}${n.word}` : `${n.word}${t.word}`) : ''))
      .filter(Boolean);
    terms.push({ stem: t.stem, word: t.word, weight, name, joins });
  });
  const numbers: ClaimNumber[] = [];
  tokens.forEach((t, i) => {
    if (t.num === undefined || numbers.some((n) => n.value === t.num && n.unit?.id === t.unit?.id)) return;
    numbers.push({
      value: t.num,
      spelled: t.word !== t.num,
      ...(t.unit ? { unit: t.unit } : {}),
      context: contextStems(tokens, i),
    });
  });
  const codes = codeNames(text).map((c) => {
    const at = findSeq(
      tokens.map((t) => t.word),
      c.words,
    );
    return {
      ...c,
      context: at >= 0 ? contextStems(tokens, at, c.words.length) : new Set<string>(),
      subject: isSubjectAt(text, text.indexOf(c.display)),
    };
  });
  return {
    text,
    tokens,
    terms,
    numbers,
    codes,
    names,
    months: new Set(tokens.filter((t) => MONTHS.has(t.word)).map((t) => t.word)),
    negated: negatedStems(tokens),
    stems: new Set(tokens.filter(isContent).map((t) => t.stem)),
    novel: new Set(tokens.filter((t) => isContent(t) && !index.stems.has(t.stem)).map((t) => t.stem)),
    clauses: clauseStems(text),
    anchors: anchorsOf(text, tokens, codes, names),
  };
}

/** Clause boundaries: a semicolon, or a comma or space before a conjunction that starts a new statement. */
const CLAUSE_RE = /;|,\s*(?=(?:and|but|while|whereas|so|which)\b)|\s(?=(?:but|whereas)\b)/iu;

function clauseStems(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const part of text.split(CLAUSE_RE)) {
    const stems = new Set(
      tokenize(part)
        .filter(isContent)
        .map((t) => t.stem),
    );
    for (const st of stems) if (!out.has(st)) out.set(st, stems);
  }
  return out;
}

/** Where `word` first occurs in `text` as a whole word (case-insensitive), or -1. */
function wordOffset(text: string, word: string): number {
  return new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(word)}(?![\\p{L}\\p{N}])`, 'iu').exec(text)?.index ?? -1;
}

/**
 * Whether the text at `at` is the claim's grammatical subject: at its start after at most an article, or right after
 * a leading clause ("When x is present, bisect_left returns ..."). Passages often leave their topic unnamed ("This
 * function returns ...", "Return a file-like object"), so an answer naming it says nothing new.
 */
function isSubjectAt(text: string, at: number): boolean {
  if (at < 0) return false;
  const before = text.slice(0, at).trim().toLowerCase();
  return (
    /^(?:(?:the|a|an)\b)?$/.test(before) ||
    /^(?:when|if|while|because|since|after|before|once|unless|with|in|on|by default)\b[^,;:]*,(?:\s*(?:the|a|an)\b)?$/.test(
      before,
    )
  );
}

/**
 * The role of tokens[at .. at+len): up to 4 content stems on each side, within 8 words. Around a number, units are
 * left out: they are compared as part of the quantity, not as its role.
 */
export function contextStems(tokens: Token[], at: number, len = 1): Set<string> {
  const out = new Set<string>();
  const number = tokens[at]?.num !== undefined;
  const take = (from: number, step: number): void => {
    let found = 0;
    for (let i = from, seen = 0; i >= 0 && i < tokens.length && seen < 8 && found < 4; i += step, seen++) {
      const t = tokens[i];
      if (t && isContent(t) && !(number && UNITS.has(t.word))) {
        out.add(t.stem);
        found++;
      }
    }
  };
  take(at - 1, -1);
  take(at + len, 1);
  return out;
}

/** How many of `context` occur in the role of tokens[at .. at+len) (synonyms and derived forms count). */
export function roleScore(context: Set<string>, tokens: Token[], at: number, len = 1): number {
  if (!context.size) return 0;
  const near = contextStems(tokens, at, len);
  let score = 0;
  for (const c of context) {
    let best = 0;
    for (const n of near) best = Math.max(best, stemMatch(c, n));
    score += best;
  }
  return score;
}
