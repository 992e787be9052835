/**
 * Names in a text: code names (`os.path.join()`, `max_retries`, `--verbose`), proper names and acronyms, and the
 * anchors a sentence binds together (a number, a name, a quoted literal).
 */
import { STOPWORDS, normalizeText, tokenizeWords } from '../../llm/text';
import { MONTHS, NEGATIONS, type Token } from './lexicon';

export interface CodeName {
  /** As written. */
  display: string;
  /** Its lower-case words (`os.path.join()` → os path join). */
  words: string[];
  /**
   * Written like code (dots, underscores, brackets, inner capitals, digits): then only the same words joined without
   * spaces count (`debug_mode`, `debug-mode`, `debugmode`; not the prose "debug mode"). Plain words match as words.
   */
  strict: boolean;
  pattern: RegExp;
  /** What sort of name: a swap replaces a name with one of the same sort (a parameter with a parameter). */
  kind: 'flag' | 'callable' | 'snake' | 'pascal' | 'word';
}

function codeKind(display: string): CodeName['kind'] {
  if (display.startsWith('--')) return 'flag';
  if (/[.(]/.test(display)) return 'callable';
  if (display.includes('_')) return 'snake';
  if (/^\p{Lu}/u.test(display)) return 'pascal';
  return 'word';
}

export const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function codePattern(words: string[]): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}])${words.map(escapeRe).join('[^\\p{L}\\p{N}\\s]*')}(?![\\p{L}\\p{N}])`, 'iu');
}

/** Where code name `c` is in `sentence` (its first word's token index), or -1. */
export function codeAt(c: CodeName, sentence: { text: string; words: string[] }): number {
  if (!c.strict) return findSeq(sentence.words, c.words);
  if (!c.pattern.test(sentence.text)) return -1;
  return Math.max(0, findSeq(sentence.words, c.words));
}

const CODE_RES: RegExp[] = [
  /(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?/g, // dotted: os.path.join(), setup.py
  /(?<![\w.])[A-Za-z_]\w*(?=\()/g, // a call: print(
  /(?<![\w-])--[A-Za-z][\w-]*/g, // a long option: --verbose
  /(?<![\w.])(?:\w*[A-Za-z0-9]_\w+|_{1,2}[A-Za-z]\w*)/g, // snake_case, __dunder__
  /\b[a-z]+[A-Z][A-Za-z0-9]*\b/g, // camelCase
  /\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\b/g, // TypeError, PostgreSQL
  /\b[A-Za-z]+\d[A-Za-z0-9]*\b/g, // sha256, utf8, ipv6
];

export function codeNames(text: string): CodeName[] {
  const found: CodeName[] = [];
  const add = (display: string): void => {
    const words = tokenizeWords(normalizeText(display));
    if (!words.length) return;
    // Dotted abbreviations (e.g, i.e, U.S) are not code.
    if (/^(?:\p{L}\.)+\p{L}?$/u.test(display)) return;
    const strict = /[._(]|--|\p{Ll}\p{Lu}|\p{L}\p{N}|^\p{Lu}\p{Ll}+\p{Lu}/u.test(display);
    found.push({ display, words, strict, pattern: codePattern(words), kind: codeKind(display) });
  };
  let rest = text;
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    const inner = (m[1] ?? '').trim();
    const words = tokenizeWords(normalizeText(inner));
    if (words.length >= 1 && words.length <= 3 && !/\s/.test(inner.replace(/\(\s*\)$/, ''))) add(inner);
    else for (const re of CODE_RES) for (const c of inner.matchAll(re)) add(c[0]);
    rest = rest.replace(m[0], ' ');
  }
  for (const re of CODE_RES) for (const c of rest.matchAll(re)) add(c[0]);
  // Keep the longest: `os.path.join()` covers `join(`.
  const unique = new Map<string, CodeName>();
  for (const c of found) unique.set(c.words.join(' '), c);
  const all = [...unique.values()];
  return all.filter(
    (c) => !all.some((o) => o !== c && o.words.length > c.words.length && findSeq(o.words, c.words) >= 0),
  );
}

/** Index of `needle` as a contiguous run in `hay`, or as a run of words that concatenate to it (max_size/maxsize). */
export function findSeq(hay: readonly string[], needle: readonly string[]): number {
  const joined = needle.join('');
  for (let i = 0; i < hay.length; i++) {
    if (needle.every((w, k) => hay[i + k] === w)) return i;
    let acc = '';
    for (let k = i; k < hay.length && acc.length < joined.length; k++) {
      acc += hay[k];
      if (acc === joined && (k > i || needle.length > 1)) return i;
    }
  }
  return -1;
}

/**
 * `list.sort()` is found in "sort() ... sorts the list": a dotted name whose last part is in the passage and whose
 * other parts are words of it. A different method (`os.path.split` for `os.path.join`) still is not.
 */
export function dottedPartsIn(c: CodeName, passage: { text: string; words: string[] }): boolean {
  const parts = c.display.replace(/\(\)$/, '').split('.');
  const last = parts.pop();
  if (!last || !parts.length) return false;
  const have = new Set(passage.words);
  const lastWords = tokenizeWords(normalizeText(last));
  return (
    lastWords.length > 0 &&
    codePattern(lastWords).test(passage.text) &&
    parts.every((p) => tokenizeWords(normalizeText(p)).every((w) => have.has(w)))
  );
}

/**
 * Proper names (lower case): a capitalised word right after a lower-case word (so not a sentence or clause start,
 * not a title after a dash or colon), and acronyms anywhere. Months and stopwords are not names.
 */
export function nameWords(text: string): Set<string> {
  const out = new Set<string>();
  const add = (w: string, keyword = false): void => {
    const lower = w.toLowerCase();
    // An upper-case stopword is a keyword or value of the documented tool (`ON`, `OFF`, `ONLY`, `BOTH`), not prose.
    if (!MONTHS.has(lower) && (keyword || !STOPWORDS.has(lower)) && !NEGATIONS.has(lower)) out.add(lower);
  };
  for (const m of text.normalize('NFKC').matchAll(/(?<=\p{Ll}[,]?\s+)\p{Lu}[\p{Ll}\p{Lu}]+(?![\p{L}\p{N}_])/gu))
    add(m[0]);
  for (const m of text.normalize('NFKC').matchAll(/(?<![\p{L}\p{N}_.])\p{Lu}{2,}(?![\p{L}\p{N}_])/gu)) add(m[0], true);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Anchors: the values a sentence binds together (a number, a name, a quoted literal)

export interface Anchor {
  /** What it is, comparable across texts: the number's canonical value, a name's lower-case words. */
  key: string;
  /** A swap replaces a value with one of the same sort. */
  kind: 'number' | 'name' | 'literal';
  /** Token index of its first word. */
  at: number;
  display: string;
}

/** Quoted literals ('<broadcast>', "utf-8", “tab”): short, so that a quoted sentence is not one. */
const LITERAL_RE = /(?<![\p{L}\p{N}])(['‘"“])([^'‘’"“”\n]{1,40})(['’"”])(?![\p{L}\p{N}])/gu;

export function anchorsOf(text: string, tokens: Token[], codes: CodeName[], names: Set<string>): Anchor[] {
  const words = tokens.map((t) => t.word);
  const out: Anchor[] = [];
  const taken = new Set<number>();
  const add = (key: string, kind: Anchor['kind'], at: number, len: number, display: string): void => {
    if (at < 0 || taken.has(at)) return;
    for (let k = 0; k < len; k++) taken.add(at + k);
    out.push({ key, kind, at, display });
  };
  for (const m of text.normalize('NFKC').matchAll(LITERAL_RE)) {
    const w = tokenizeWords(normalizeText(m[2] ?? ''));
    if (w.length) add(w.join(' '), 'literal', findSeq(words, w), w.length, m[0]);
  }
  for (const c of codes) add(c.words.join(' '), 'name', findSeq(words, c.words), c.words.length, c.display);
  for (const n of names) add(n, 'name', words.indexOf(n), 1, n);
  tokens.forEach((t, i) => {
    if (t.num !== undefined && !t.stop) add(t.num, 'number', i, 1, t.num);
  });
  return out;
}
