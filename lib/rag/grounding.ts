/**
 * The deterministic grounding checker: the gate that decides, offline (local provider), whether each claim of an
 * answer is supported by the source passages. Pure, no I/O, the same input always gives the same verdicts.
 *
 * Per claim:
 *  1. Candidate spans are sentence windows of the passages (each sentence, each pair of adjacent sentences, and the
 *     best sentence with the one that best completes it, so a claim that fuses two sentences or refers back with
 *     "it" still finds its support). The claim's cited passages
 *     are searched first when the citations are known; the rest of the evidence only when they do not support it.
 *  2. Windows are ranked by how much of the claim they cover; the best few are checked in full, in that order: the
 *     first that supports the claim, or that conflicts with it (a different number, a swapped name, the opposite
 *     polarity), decides; when all merely lack something, the best-ranked one's verdict stands.
 *  3. A window supports a claim when
 *     - enough of the claim's content words are in it (stemmed, see ../llm/text.ts; inflections, British/American
 *       spellings, a small table of technical and common synonyms, derived forms and compounds (`block size` /
 *       `blocksize`) count, a word found elsewhere in the same passage counts partly, and words the evidence never
 *       mentions weigh more, except the claim's subject: they are what a hallucination adds);
 *     - every number of the claim is in it (versions exactly: `3.11` is not `3.1`), in the same role: a number whose
 *       neighbouring words sit next to a different number in the evidence is a contradiction ("5 seconds" vs "3
 *       seconds");
 *     - every code name of the claim (`os.path.join()`, `max_retries`, `TypeError`, `--verbose`, `sha256`) is in the
 *       passage, and not swapped for another name of the window in that role; only the claim's subject may be a
 *       name the passage leaves unsaid ("This function returns ..."), when the passage names nothing of its sort;
 *     - proper names and month names are there (a month replaced by another is a contradiction), and a plain word
 *       naming something of a category ("the forkserver start method") is not another one's replacement;
 *     - values the claim binds together (a name and a number, a literal and a name) are not bound the other way
 *       round in the evidence ("bzip2 since 2001, LZMA since 2006" for "LZMA since 2001");
 *     - the polarity agrees: a negated predicate in the claim that the evidence states plainly, or the reverse
 *       (`not`, `never`, `no`, `cannot`, `without`, contractions; `otherwise` turns a condition around), and
 *       antonyms / negative prefixes (`mutable` vs `immutable`, `enabled` vs `disabled`, `required` vs `optional`)
 *       are contradictions; each word is compared with the evidence about its own clause.
 *     Conflicts are only called contradictions when the window is about the same thing (half the content words
 *     match); otherwise the claim is just unsupported.
 * Known limits: no real parsing, so role swaps between two words of the same sort (two names, `-t`/`-n`, deep vs
 * shallow, a condition of one sentence with the consequence of another), and paraphrases through synonyms outside
 * the table, are not recognised. Measured on a DEV/TEST split by bench/eval/grounding-split.ts.
 */
import { STOPWORDS, normalizeText, splitSentences, stem, tokenizeWords } from '../llm/text';
import { citationNumbers, cleanClaimText, splitClaims } from './claims';

export interface Evidence {
  id: string;
  text: string;
}
export type Verdict = 'supported' | 'contradicted' | 'unsupported';
export interface ClaimVerdict {
  claim: string;
  verdict: Verdict;
  confidence: number;
  evidence: { id: string; span: string } | null;
  reason: string;
}

export interface ClaimCheckOptions {
  /** Ids of the passages the claim cites: searched first. */
  citedIds?: readonly string[];
}

export interface AnswerCheckOptions {
  /**
   * Citation number → evidence id. Without it (or for numbers it lacks), `[n]` means the evidence whose id is `n`,
   * else the n-th evidence (1-based), the order in which the answering prompt numbers its passages.
   */
  citations?: Readonly<Record<number, string>>;
}

/** Share of the claim's (weighted) content words a window must hold to support it. */
export const SUPPORT_THRESHOLD = 0.6;
/** Below this coverage a window is about something else: conflicts with it are not contradictions. */
const TOPIC_THRESHOLD = 0.5;
/** A different number next to the claim's words is a contradiction even in a short, pronoun-led claim. */
const NUMBER_TOPIC_THRESHOLD = 0.3;
/** Weight of a claim word that no passage uses (other words weigh 1, light ones 0.5). */
const NOVEL_WEIGHT = 1.75;
/** Credit for a claim word found in the passage but outside the window (the topic, what "it" refers to). */
const PASSAGE_CREDIT = 0.4;
/** How many top-ranked windows are checked in full. */
const WINDOWS_CHECKED = 4;

export function checkAnswerDeterministic(
  answer: string,
  evidence: Evidence[],
  options: AnswerCheckOptions = {},
): { claims: ClaimVerdict[]; score: number } {
  const index = indexEvidence(evidence);
  const claims = splitClaims(answer).map((claim) => {
    const citedIds = claim.citations
      .map((n) => resolveCitation(n, evidence, options.citations))
      .filter((id): id is string => id !== undefined);
    return checkClaimWithIndex(claim.text, index, citedIds);
  });
  const supported = claims.filter((c) => c.verdict === 'supported').length;
  return { claims, score: claims.length ? supported / claims.length : 1 };
}

export function checkClaimDeterministic(
  claim: string,
  evidence: Evidence[],
  options: ClaimCheckOptions = {},
): ClaimVerdict {
  const index = indexEvidence(evidence);
  // A claim passed with its markers still in it cites by number.
  const cited = options.citedIds ?? citationNumbers(claim).map((n) => resolveCitation(n, evidence, undefined));
  return checkClaimWithIndex(
    cleanClaimText(claim),
    index,
    cited.filter((id): id is string => id !== undefined),
  );
}

function resolveCitation(
  n: number,
  evidence: Evidence[],
  mapping: Readonly<Record<number, string>> | undefined,
): string | undefined {
  return mapping?.[n] ?? evidence.find((e) => e.id === String(n))?.id ?? evidence[n - 1]?.id;
}

// ---------------------------------------------------------------------------------------------------------------
// Words

interface Token {
  /** Lower case. */
  word: string;
  cased: string;
  stem: string;
  stop: boolean;
  negation: boolean;
  /** Canonical value when the token is a number (`3.11`, `1000`, `30` of `30s`, `5` of `five`). */
  num?: string;
  /** For a number followed by a unit: the unit, canonical (`gb`, `second`), and as written. */
  unit?: { id: string; text: string };
}

/** Units after a number: 5 TB is not 5 GB. */
const UNITS = new Map<string, string>();
for (const group of [
  'b byte bytes', 'kb kilobyte kilobytes', 'mb megabyte megabytes', 'gb gigabyte gigabytes', 'tb terabyte terabytes',
  'pb petabyte petabytes', 'kib', 'mib', 'gib', 'tib', 'bit bits', 'ms millisecond milliseconds',
  's sec secs second seconds', 'min mins minute minutes', 'h hr hrs hour hours', 'd day days', 'week weeks',
  'month months', 'year years', 'percent', 'k thousand', 'm million',
]) {
  const [id, ...rest] = group.split(' ');
  if (id) for (const w of [id, ...rest]) UNITS.set(w, id);
}

/** British → American spelling before stemming, so `serialise`/`serialize` and `behaviour`/`behavior` meet. */
function spelling(word: string): string {
  return (
    word
      .replace(/(?<=\p{L}{3})is(e|es|ed|ing|ation|ations|er|ers)$/u, 'iz$1')
      .replace(/(?<=\p{L}{2}[^aeiou])our(s|ed|ing|ite|ites)?$/u, 'or$1')
      // Adverbs meet their adjectives: asynchronously/asynchronous, physically/physical, immediately/immediate.
      .replace(/(?<=\p{L}{3})(ous|ive|ful|less|ent|ant|ate|al|ible|able)ly$/u, '$1')
  );
}

const stemCache = new Map<string, string>();
function stemWord(word: string): string {
  let s = stemCache.get(word);
  if (s === undefined) {
    s = stem(spelling(word));
    if (stemCache.size < 50_000) stemCache.set(word, s);
  }
  return s;
}

const NEGATIONS = new Set(
  `not no never none nothing neither nor cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt couldnt
  shouldnt hasnt havent hadnt mustnt neednt without non nobody nowhere`.split(/\s+/),
);
const NUMBER_WORDS: Record<string, string> = {
  two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9', ten: '10', eleven: '11',
  twelve: '12', thirteen: '13', fourteen: '14', fifteen: '15', sixteen: '16', seventeen: '17', eighteen: '18',
  nineteen: '19', twenty: '20', thirty: '30', forty: '40', fifty: '50', sixty: '60', seventy: '70', eighty: '80',
  ninety: '90', hundred: '100', thousand: '1000', million: '1000000', billion: '1000000000',
};
const MONTHS = new Set(
  `january february march april june july august september october november december`.split(/\s+/),
);
const STRONG_MODALS = new Set(['must', 'always', 'mandatory', 'guaranteed']);
const WEAK_MODALS = new Set(['may', 'might', 'can', 'could', 'optional', 'optionally', 'sometimes', 'usually', 'often']);
/** Claim words about the sources rather than the subject ("according to the documentation"). */
const META_WORDS = new Set(`according documentation docs passage passages mentioned stated`.split(/\s+/));
/** Words that carry little on their own: missing them costs half. */
const LIGHT_STEMS = new Set(
  `use also new way make provide allow able certain specific various different include thing actually simply basic
  general typical usual current existing particular available module function method class object value library
  package program code data variable instance feature tool system application user developer together along
  known referred described considered termed called`
    .split(/\s+/)
    .map(stemWord),
);

function inflect(suffix: string | undefined): string {
  return suffix === 's' ? 's' : suffix === 'ed' ? 'd' : suffix === 'ing' ? 'ing' : '';
}

function canonicalNumber(digits: string): string[] {
  if (/^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(digits)) return [digits.replace(/,/g, '')];
  return digits
    .split(',')
    .filter(Boolean)
    .map((d) => (/^\d+$/.test(d) ? d.replace(/^0+(?=\d)/, '') : d));
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const prepared = text
    .normalize('NFKC')
    .replace(/%/g, ' percent ')
    .replace(/\bat a time\b/giu, 'at once')
    // Phrasal verbs as one word, so that "turns on" meets "enables".
    .replace(/\b(?:turn|switch)(s|ed|ing)? on\b/giu, (_m, inf: string | undefined) => `enable${inflect(inf)}`)
    .replace(/\b(?:turn|switch)(s|ed|ing)? off\b/giu, (_m, inf: string | undefined) => `disable${inflect(inf)}`);
  for (const cased of tokenizeWords(prepared)) {
    const word = cased.toLowerCase();
    const numeric = /^v?(\d[\d.,]*?)(\p{L}{0,3})$/u.exec(word);
    if (numeric?.[1]) {
      for (const num of canonicalNumber(numeric[1])) {
        out.push({ word: num, cased: num, stem: num, stop: false, negation: false, num });
      }
      if (numeric[2]) {
        const unit = numeric[2];
        out.push({ word: unit, cased: unit, stem: stemWord(unit), stop: true, negation: false });
      }
      continue;
    }
    const num = NUMBER_WORDS[word];
    // Python's `None` is a value, not a negation.
    const negation = NEGATIONS.has(word) && cased !== 'None';
    out.push({
      word,
      cased,
      stem: stemWord(word),
      stop: STOPWORDS.has(word) || negation,
      negation,
      ...(num ? { num } : {}),
    });
  }
  out.forEach((t, i) => {
    const next = out[i + 1];
    const unit = next && UNITS.get(next.word);
    if (t.num !== undefined && next && unit) t.unit = { id: unit, text: next.word };
  });
  return out;
}

const isContent = (t: Token): boolean => !t.stop && t.num === undefined;

// ---------------------------------------------------------------------------------------------------------------
// Synonyms, antonyms, negative prefixes (stems, computed once)

const SYNONYM_GROUPS = [
  'error exception', 'raise throw generate', 'number count amount', 'argument parameter arg param', 'remove delete', 'begin start launch',
  'finish end complete terminate', 'fast quick rapid', 'faster quicker', 'large big', 'small little tiny',
  'require need', 'permit allow let', 'show display', 'retrieve fetch obtain get', 'modify change alter mutate',
  'verify check validate', 'execute run invoke call', 'use utilize employ', 'create make construct build',
  'store save persist', 'combine merge concatenate join', 'split divide separate', 'directory folder',
  'function method', 'deprecated obsolete', 'identical same equal', 'contain include hold', 'add introduce new',
  'option setting', 'maximum max limit', 'minimum min', 'output result', 'instance object', 'attribute property field',
  'character char', 'integer int', 'string str', 'boolean bool', 'dictionary dict mapping', 'several multiple many',
  'whole entire full', 'automatically automatic', 'return give', 'spawn create', 'stop halt', 'wait block',
  'quickly fast', 'speed performance', 'value setting', 'keyword named', 'ignore skip', 'kill terminate',
  'simultaneous concurrent parallel', 'supply pass provide', 'print output write', 'default standard',
  'mean indicate signify denote', 'receive accept get take pass', 'specify set define', 'describe explain',
  'happen occur', 'entire whole complete', 'remain stay', 'necessary required needed', 'reclaim free release',
  'source src', 'destination dest', 'directory dir', 'configuration config', 'repository repo', 'application app',
  'environment env', 'information info', 'specification spec', 'temporary temp tmp', 'message msg', 'database db',
  'enable true', 'disable false', 'reference ref', 'documentation docs', 'implementation impl', 'initialize init', 'administrator admin',
  // Common English paraphrases.
  'write implement', 'aim target', 'attempt try', 'approximately roughly', 'mostly mainly largely primarily',
  'usually typically generally commonly normally', 'multiply times', 'refuse reject decline', 'multi several',
  'appropriate suitable fine acceptable', 'send forward deliver dispatch', 'choose select pick', 'yield produce',
  'examine inspect consider', 'available work', 'quick quickly quicker', 'modern current',
].map((g) => g.split(' ').map(stemWord));
const SYNONYMS = new Map<string, Set<string>>();
for (const group of SYNONYM_GROUPS) {
  for (const s of group) {
    const set = SYNONYMS.get(s) ?? new Set<string>();
    for (const other of group) if (other !== s) set.add(other);
    SYNONYMS.set(s, set);
  }
}

const ANTONYM_PAIRS = [
  'enable disable', 'required optional', 'true false', 'synchronous asynchronous', 'sync async', 'before after',
  'increase decrease', 'maximum minimum', 'max min', 'include exclude', 'allow deny', 'allow forbid',
  'enable false', 'disable true', 'public private', 'first last', 'short long', 'shorter longer', 'shortest longest', 'smallest largest',
  'lowest highest', 'oldest newest', 'fastest slowest', 'declarative imperative', 'inclusive exclusive',
  'ascending descending', 'horizontal vertical', 'stateless stateful', 'sequential parallel', 'shared exclusive', 'older newer', 'earlier later', 'faster slower', 'larger smaller', 'higher lower',
  'more fewer', 'always never', 'accept reject', 'success failure', 'succeed fail', 'upper lower',
  'blocking nonblocking', 'open close', 'add remove', 'start stop', 'read write',
  'encode decode', 'serialize deserialize', 'import export', 'local remote', 'explicit implicit',
  'absolute relative', 'static dynamic', 'strict lenient', 'lazy eager', 'lowercase uppercase', 'global local',
].map((p) => p.split(' ').map(stemWord) as [string, string]);
const ANTONYMS = new Map<string, Set<string>>();
for (const [a, b] of ANTONYM_PAIRS) {
  ANTONYMS.set(a, (ANTONYMS.get(a) ?? new Set()).add(b));
  ANTONYMS.set(b, (ANTONYMS.get(b) ?? new Set()).add(a));
}
/** Negative prefixes and the shortest stem they may negate (`in` + `put` is not a negation; `in` + `valid` is). */
const NEGATIVE_PREFIXES: [string, number][] = [['un', 4], ['dis', 4], ['non', 4], ['in', 5], ['im', 5], ['il', 5], ['ir', 5]];

/** How well stem `a` (claim) matches stem `b` (evidence): 1 same, 0.85 synonym, 0.8/0.7 derived form, else 0. */
function stemMatch(a: string, b: string): number {
  if (a === b) return 1;
  if (SYNONYMS.get(a)?.has(b)) return 0.85;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  if (short.length >= 4 && long.startsWith(short) && long.length - short.length <= 5) return 0.8;
  let common = 0;
  while (common < short.length && short[common] === long[common]) common++;
  if (common >= 6 && common >= 0.8 * short.length) return 0.7;
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Code names

interface CodeName {
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

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function codePattern(words: string[]): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}])${words.map(escapeRe).join('[^\\p{L}\\p{N}\\s]*')}(?![\\p{L}\\p{N}])`, 'iu');
}

/** Where code name `c` is in `sentence` (its first word's token index), or -1. */
function codeAt(c: CodeName, sentence: { text: string; words: string[] }): number {
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

function codeNames(text: string): CodeName[] {
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
  return all.filter((c) => !all.some((o) => o !== c && o.words.length > c.words.length && findSeq(o.words, c.words) >= 0));
}

/** Index of `needle` as a contiguous run in `hay`, or as a run of words that concatenate to it (max_size/maxsize). */
function findSeq(hay: readonly string[], needle: readonly string[]): number {
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
function dottedPartsIn(c: CodeName, passage: { text: string; words: string[] }): boolean {
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

// ---------------------------------------------------------------------------------------------------------------
// Anchors: the values a sentence binds together (a number, a name, a quoted literal)

interface Anchor {
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

function anchorsOf(text: string, tokens: Token[], codes: CodeName[], names: Set<string>): Anchor[] {
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

/** Anchors at most this many tokens apart in a claim are bound to each other ("LZMA compression since 2001"). */
const BINDING_DISTANCE = 4;

/**
 * Two values the claim binds together (a name and a number, a literal and a name) that the evidence sentence binds
 * differently: the evidence has both, but next to the first, where the claim has the second, sits another value of
 * the second's sort ("bzip2 since 2001, LZMA since 2006" for "LZMA since 2001"). Only values of different sorts
 * are paired, so a reordered list of names is not a swap.
 */
function bindingSwap(claim: ClaimAnalysis, sentence: Sentence): string | null {
  // A value in a leading phrase ("In 3.5, ...", "Since Python 3.10, ...") is about the whole claim, not its neighbour.
  const lead = /^\s*(?:in|since|as of|from|before|after|until|on|for)\b[^,;:]{0,40},/iu.exec(claim.text);
  const scoped = lead ? tokenize(lead[0]).length : 0;
  const anchors = claim.anchors.filter((x) => x.at >= scoped);
  for (const a of anchors) {
    for (const b of anchors) {
      const offset = b.at - a.at;
      if (a.kind === b.kind || offset === 0 || Math.abs(offset) > BINDING_DISTANCE) continue;
      // Another claim value of b's sort at least as close to a: the claim itself pairs them loosely.
      if (claim.anchors.some((o) => o !== b && o.kind === b.kind && Math.abs(o.at - a.at) <= Math.abs(offset))) continue;
      const as = sentence.anchors.filter((x) => x.key === a.key);
      const bs = sentence.anchors.filter((x) => x.key === b.key && x.kind === b.kind);
      if (!as.length || !bs.length) continue;
      let own = Infinity;
      let rival: { cost: number; anchor: Anchor } | null = null;
      for (const x of as) {
        for (const y of bs) own = Math.min(own, Math.abs(y.at - x.at - offset));
        for (const y of sentence.anchors) {
          if (y.kind !== b.kind || y.key === b.key || y.key === a.key) continue;
          if (Math.abs(y.at - x.at) > BINDING_DISTANCE + 1) continue;
          // A rival the claim also states must be bound to something else of a's sort there ("... bzip2 since 2006").
          const inClaim = claim.anchors.filter((o) => o.key === y.key && o.kind === y.kind);
          const boundElsewhere = inClaim.some((o) =>
            claim.anchors.some((p) => p !== a && p.kind === a.kind && Math.abs(p.at - o.at) <= BINDING_DISTANCE),
          );
          if (inClaim.length && !boundElsewhere) continue;
          const cost = Math.abs(y.at - x.at - offset);
          if (!rival || cost < rival.cost) rival = { cost, anchor: y };
        }
      }
      const r = rival as { cost: number; anchor: Anchor } | null;
      if (r && r.cost + 2 <= own && own >= 3) {
        return `the evidence pairs ${a.display} with ${r.anchor.display}, not with ${b.display}`;
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Evidence index

interface Sentence {
  text: string;
  evidence: number;
  start: number;
  end: number;
  tokens: Token[];
  words: string[];
  stems: Set<string>;
  /** Concatenations of adjacent words (`time out` → `timeout`). */
  joined: Set<string>;
  codes: CodeName[];
  /** Capitalised words not at the start, and acronyms (lower case). */
  names: Set<string>;
  months: Set<string>;
  /** Stems in the scope of a negation. */
  negated: Set<string>;
  anchors: Anchor[];
}

interface Passage {
  id: string;
  text: string;
  sentences: Sentence[];
  stems: Set<string>;
  words: string[];
}

interface EvidenceIndex {
  passages: Passage[];
  /** Every stem of every passage: claim words outside it are new information. */
  stems: Set<string>;
}

function indexEvidence(evidence: Evidence[]): EvidenceIndex {
  const passages = evidence.map((e, i): Passage => {
    const sentences = evidenceUnits(e.text ?? '').map((s) => analyseSentence(s.text, i, s.start, s.end));
    const stems = new Set<string>();
    for (const s of sentences) for (const st of s.stems) stems.add(st);
    return { id: e.id, text: e.text ?? '', sentences, stems, words: sentences.flatMap((s) => s.words) };
  });
  const stems = new Set<string>();
  for (const p of passages) for (const s of p.stems) stems.add(s);
  return { passages, stems };
}

/** Sentences, split further at semicolons: "defaults to False; if check is true ..." states two things. */
function evidenceUnits(text: string): { text: string; start: number; end: number }[] {
  const out: { text: string; start: number; end: number }[] = [];
  for (const s of splitSentences(text)) {
    let from = 0;
    // "if given, ...; otherwise ..." is one statement: the second part only means something with the first.
    for (const m of s.text.matchAll(/;\s+(?!(?:otherwise|else|unless|except)\b)/gi)) {
      const part = s.text.slice(from, m.index);
      if (part.trim()) out.push({ text: part, start: s.start + from, end: s.start + m.index });
      from = m.index + m[0].length;
    }
    out.push({ text: s.text.slice(from), start: s.start + from, end: s.end });
  }
  return out;
}

function analyseSentence(text: string, evidence: number, start: number, end: number): Sentence {
  const tokens = tokenize(text);
  const codes = codeNames(text);
  const names = nameWords(text);
  const words = tokens.map((t) => t.word);
  const stems = new Set(tokens.filter((t) => !t.stop || t.negation).map((t) => t.stem));
  const joined = new Set<string>();
  for (let i = 0; i + 1 < words.length; i++) joined.add(stemWord(`${words[i]}${words[i + 1]}`));
  return {
    text,
    evidence,
    start,
    end,
    tokens,
    words,
    stems,
    joined,
    codes,
    names,
    months: new Set(tokens.filter((t) => MONTHS.has(t.word)).map((t) => t.word)),
    negated: negatedStems(tokens),
    anchors: anchorsOf(text, tokens, codes, names),
  };
}

/**
 * Proper names (lower case): a capitalised word right after a lower-case word (so not a sentence or clause start,
 * not a title after a dash or colon), and acronyms anywhere. Months and stopwords are not names.
 */
function nameWords(text: string): Set<string> {
  const out = new Set<string>();
  const add = (w: string): void => {
    const lower = w.toLowerCase();
    if (!MONTHS.has(lower) && !STOPWORDS.has(lower) && !NEGATIONS.has(lower)) out.add(lower);
  };
  for (const m of text.normalize('NFKC').matchAll(/(?<=\p{Ll}[,]?\s+)\p{Lu}[\p{Ll}\p{Lu}]+(?![\p{N}_])/gu)) add(m[0]);
  for (const m of text.normalize('NFKC').matchAll(/(?<![\p{L}\p{N}_.])\p{Lu}{2,}(?![\p{L}\p{N}_])/gu)) add(m[0]);
  return out;
}

/** The stem each negation applies to: the next content word within 4 words, else the previous within 3. */
function negatedStems(tokens: Token[]): Set<string> {
  const out = new Set<string>();
  tokens.forEach((t, i) => {
    if (!t.negation) return;
    if (t.word === 'not' && tokens[i + 1]?.word === 'only') return; // "not only ... but also" asserts both
    // "not physically removed" negates "removed": adverbs (-ly) extend the scope to the next word.
    let found = false;
    for (const x of tokens.slice(i + 1, i + 5)) {
      if (!isContent(x) || x.word === 'longer') continue;
      out.add(x.stem);
      found = true;
      if (!x.word.endsWith('ly')) break;
    }
    if (found) return;
    const before = tokens
      .slice(Math.max(0, i - 3), i)
      .reverse()
      .find(isContent);
    if (before) out.add(before.stem);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Claims

interface ClaimTerm {
  stem: string;
  word: string;
  weight: number;
  name: boolean;
  /** The word joined with its neighbour (`block size` → `blocksize`): a compound the evidence may write as one. */
  joins: string[];
}

interface ClaimNumber {
  value: string;
  unit?: { id: string; text: string };
  context: Set<string>;
}

interface ClaimAnalysis {
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

function analyseClaim(text: string, index: EvidenceIndex): ClaimAnalysis {
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
    numbers.push({ value: t.num, ...(t.unit ? { unit: t.unit } : {}), context: contextStems(tokens, i) });
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
    const stems = new Set(tokenize(part).filter(isContent).map((t) => t.stem));
    for (const st of stems) if (!out.has(st)) out.set(st, stems);
  }
  return out;
}

/**
 * Whether the text at `at` is the claim's grammatical subject: at its start after at most an article, or right after
 * a leading clause ("When x is present, bisect_left returns ..."). Passages often leave their topic unnamed ("This
 * function returns ...", "Return a file-like object"), so an answer naming it says nothing new.
 */
/** Where `word` first occurs in `text` as a whole word (case-insensitive), or -1. */
function wordOffset(text: string, word: string): number {
  return new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(word)}(?![\\p{L}\\p{N}])`, 'iu').exec(text)?.index ?? -1;
}

function isSubjectAt(text: string, at: number): boolean {
  if (at < 0) return false;
  const before = text.slice(0, at).trim().toLowerCase();
  return (
    /^(?:(?:the|a|an)\b)?$/.test(before) ||
    /^(?:when|if|while|because|since|after|before|once|unless|with|in|on|by default)\b[^,;:]*,(?:\s*(?:the|a|an)\b)?$/.test(before)
  );
}

/**
 * The role of tokens[at .. at+len): up to 4 content stems on each side, within 8 words. Around a number, units are
 * left out: they are compared as part of the quantity, not as its role.
 */
function contextStems(tokens: Token[], at: number, len = 1): Set<string> {
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
function roleScore(context: Set<string>, tokens: Token[], at: number, len = 1): number {
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

// ---------------------------------------------------------------------------------------------------------------
// Checking

interface Window {
  passage: Passage;
  sentences: Sentence[];
}

interface WindowResult {
  verdict: Verdict;
  /** The window says something else (a conflict), rather than lacking something: no other window may overrule it. */
  decisive: boolean;
  confidence: number;
  reason: string;
  coverage: number;
}

function checkClaimWithIndex(text: string, index: EvidenceIndex, citedIds: string[]): ClaimVerdict {
  const claim = analyseClaim(text, index);
  if (!claim.terms.length && !claim.numbers.length && !claim.codes.length) {
    return { claim: text, verdict: 'unsupported', confidence: 0.5, evidence: null, reason: 'no content words to check' };
  }
  const cited = index.passages.filter((p) => citedIds.includes(p.id));
  if (cited.length) {
    const first = bestVerdict(claim, cited);
    if (first?.verdict === 'supported') return first;
    const all = bestVerdict(claim, index.passages);
    if (all?.verdict === 'supported') {
      return { ...all, confidence: round(all.confidence * 0.9), reason: `${all.reason}; not in the cited passage` };
    }
    return first ?? all ?? noEvidence(text);
  }
  return bestVerdict(claim, index.passages) ?? noEvidence(text);
}

function noEvidence(text: string): ClaimVerdict {
  return { claim: text, verdict: 'unsupported', confidence: 0.9, evidence: null, reason: 'no evidence passage to check against' };
}

function bestVerdict(claim: ClaimAnalysis, passages: Passage[]): ClaimVerdict | null {
  const ranked: { window: Window; score: number }[] = [];
  for (const passage of passages) {
    const singles = passage.sentences.map((s) => rankScore(claim, [s]));
    passage.sentences.forEach((s, i) => {
      ranked.push({ window: { passage, sentences: [s] }, score: singles[i] ?? 0 });
      const next = passage.sentences[i + 1];
      // A pair must beat its best sentence clearly to be preferred (extra text dilutes the check).
      if (next) ranked.push({ window: { passage, sentences: [s, next] }, score: rankScore(claim, [s, next]) * 0.95 });
    });
    // A claim that fuses two facts stated apart ("nearly as reliable as CRC32 ..., and starts from 1") is checked
    // against the passage's best sentence with the one, not adjacent (those pairs are above), that best completes it.
    const best = singles.reduce((b, score, i) => (score > (singles[b] ?? 0) ? i : b), 0);
    let complement: { window: Window; score: number } | null = null;
    passage.sentences.forEach((s, i) => {
      if (Math.abs(i - best) <= 1) return;
      const pair = i < best ? [s, passage.sentences[best]!] : [passage.sentences[best]!, s];
      const score = rankScore(claim, pair) * 0.9;
      if (score > (singles[best] ?? 0) && (!complement || score > complement.score)) complement = { window: { passage, sentences: pair }, score };
    });
    if (complement) ranked.push(complement);
  }
  if (!ranked.length) return null;
  ranked.sort((a, b) => b.score - a.score || a.window.sentences.length - b.window.sentences.length);
  let first: { window: Window; result: WindowResult } | null = null;
  for (const { window, score } of ranked.slice(0, WINDOWS_CHECKED)) {
    if (score <= 0) break;
    const result = checkWindow(claim, window);
    first ??= { window, result };
    if (result.verdict === 'supported' || result.decisive) return toVerdict(claim, window, result);
  }
  if (!first) {
    return { claim: claim.text, verdict: 'unsupported', confidence: 0.9, evidence: null, reason: 'no passage mentions the claim' };
  }
  return toVerdict(claim, first.window, first.result);
}

function toVerdict(claim: ClaimAnalysis, window: Window, result: WindowResult): ClaimVerdict {
  const first = window.sentences[0];
  const last = window.sentences[window.sentences.length - 1];
  const span = first && last ? window.passage.text.slice(first.start, last.end) : '';
  return {
    claim: claim.text,
    verdict: result.verdict,
    confidence: round(result.confidence),
    evidence: { id: window.passage.id, span },
    reason: result.reason,
  };
}

/** Ranking: weighted coverage of the claim's words plus its numbers and code names found in the window. */
function rankScore(claim: ClaimAnalysis, sentences: Sentence[]): number {
  const cov = termCoverage(claim, sentences, null).coverage;
  let extra = 0;
  for (const n of claim.numbers) {
    const nums = sentences.flatMap((s) => s.tokens.filter((t) => t.num !== undefined).map((t) => t.num ?? ''));
    if (nums.some((v) => numberEquals(n.value, v))) extra += 0.3;
    // A version claim is about the sentence with a version (to agree or to conflict).
    else if (nums.some((v) => numberShape(v) === numberShape(n.value))) extra += 0.15;
  }
  // Code names already count as words; a little more so that the sentence naming them ranks first.
  for (const c of claim.codes) if (sentences.some((s) => codeAt(c, s) >= 0)) extra += 0.1;
  return cov + extra;
}

function termCoverage(
  claim: ClaimAnalysis,
  sentences: Sentence[],
  passage: Passage | null,
): { coverage: number; missing: ClaimTerm[]; matched: Map<string, number> } {
  let total = 0;
  let got = 0;
  const missing: ClaimTerm[] = [];
  const matched = new Map<string, number>();
  for (const term of claim.terms) {
    total += term.weight;
    let best = 0;
    for (const s of sentences) {
      if (s.stems.has(term.stem) || s.joined.has(term.stem) || term.joins.some((j) => s.stems.has(j))) {
        best = 1;
        break;
      }
      for (const st of s.stems) best = Math.max(best, stemMatch(term.stem, st));
    }
    if (best === 0 && passage?.stems.has(term.stem)) best = PASSAGE_CREDIT;
    if (best > 0) matched.set(term.stem, best);
    else missing.push(term);
    got += term.weight * best;
  }
  return { coverage: total ? got / total : 1, missing, matched };
}

/** The sort of number: a year, a decimal or version (how many parts), or an integer. */
function numberShape(value: string): string {
  if (/^(?:1[5-9]|20)\d\d$/.test(value)) return 'year';
  const parts = value.split('.').length;
  return parts > 1 ? `dotted:${parts}` : 'int';
}

/** The same quantity: the same number, and the same unit when both give one. */
function sameQuantity(n: { value: string; unit?: { id: string } }, t: Token): boolean {
  return numberEquals(n.value, t.num) && (!n.unit || !t.unit || n.unit.id === t.unit.id);
}

const quantity = (value: string, unit?: { text: string }): string => (unit ? `${value} ${unit.text}` : value);

function numberEquals(claimValue: string, evidenceValue: string | undefined): boolean {
  if (evidenceValue === undefined) return false;
  // A claim may be less precise than the evidence (3.11 for 3.11.4), never more.
  return evidenceValue === claimValue || evidenceValue.startsWith(`${claimValue}.`);
}

function checkWindow(claim: ClaimAnalysis, window: Window): WindowResult {
  const { sentences, passage } = window;
  const { coverage, missing, matched } = termCoverage(claim, sentences, passage);
  const conflict = (reason: string, confidence: number, topic = TOPIC_THRESHOLD): WindowResult =>
    coverage >= topic
      ? { verdict: 'contradicted', decisive: true, confidence, reason, coverage }
      : { verdict: 'unsupported', decisive: false, confidence: 0.7, reason, coverage };
  const unsupported = (reason: string, confidence = 0.8, decisive = false): WindowResult => ({
    verdict: 'unsupported',
    decisive,
    confidence,
    reason,
    coverage,
  });

  // Numbers, in their role. A rival of the same shape (a year for a year, a version for a version) ranks first.
  for (const n of claim.numbers) {
    let own = -1;
    let rival: { value: string; score: number } | null = null;
    for (const s of sentences) {
      s.tokens.forEach((t, i) => {
        if (t.num === undefined) return;
        const score = roleScore(n.context, s.tokens, i);
        if (sameQuantity(n, t)) own = Math.max(own, score);
        else if (!claim.numbers.some((c) => sameQuantity(c, t))) {
          const ranked = score + (numberShape(t.num) === numberShape(n.value) ? 0.5 : 0);
          if (!rival || ranked > rival.score) rival = { value: quantity(t.num, t.unit), score: ranked };
        }
      });
    }
    const other = rival as { value: string; score: number } | null;
    const said = quantity(n.value, n.unit);
    if (own < 0) {
      if (other && other.score >= 1) {
        return conflict(`number ${said} not in evidence (evidence says ${other.value})`, 0.85, NUMBER_TOPIC_THRESHOLD);
      }
      return unsupported(`number ${said} not in evidence`, 0.85);
    }
    if (other && other.score >= 2.5 && other.score > own + 1.5) {
      return conflict(`number ${said} is not what the evidence says here (evidence says ${other.value})`, 0.75);
    }
  }

  // Code names: in the passage, and not swapped for another name of the window. Missing names first, so that a
  // replaced name is blamed rather than a correct one next to it.
  const codeChecks = claim.codes.map((c) => {
    let own = -1;
    for (const s of sentences) {
      const at = codeAt(c, s);
      if (at >= 0) own = Math.max(own, roleScore(c.context, s.tokens, at, c.words.length));
    }
    const inPassage = own >= 0 || codeAt(c, passage) >= 0 || dottedPartsIn(c, passage);
    let rival: { display: string; score: number } | null = null;
    for (const s of sentences) {
      for (const o of s.codes) {
        if (o.kind !== c.kind) continue;
        if (claim.codes.some((k) => findSeq(o.words, k.words) >= 0 || findSeq(k.words, o.words) >= 0)) continue;
        const at = findSeq(s.words, o.words);
        const score = at >= 0 ? roleScore(c.context, s.tokens, at, o.words.length) : 0;
        if (!rival || score > rival.score) rival = { display: o.display, score };
      }
    }
    return { c, own, inPassage, rival: rival as { display: string; score: number } | null };
  });
  for (const { c, inPassage, rival } of codeChecks) {
    // The unnamed topic of the passage ("This function returns ..."), named by the claim: fine when the passage names
    // nothing else of its sort that it could have replaced.
    if (!inPassage && c.subject && !rival && codeChecks.filter((k) => !k.inPassage).length === 1) {
      const sameSort = passage.sentences.some((s) => s.codes.some((o) => o.kind === c.kind && !claim.codes.some((k) => k.display === o.display)));
      if (!sameSort) continue;
    }
    if (!inPassage) {
      return unsupported(`name \`${c.display}\` not in evidence${rival ? ` (evidence has \`${rival.display}\`)` : ''}`, 0.85);
    }
  }
  for (const { c, own, rival } of codeChecks) {
    // A name that is present is only called swapped when another one clearly holds its place.
    const margin = own >= 0 ? 2 : 1;
    if (rival && rival.score >= margin + 1 && rival.score > Math.max(own, 0) + margin) {
      return unsupported(`name \`${c.display}\` is not what the evidence names here (evidence has \`${rival.display}\`)`, 0.7, true);
    }
  }

  // Months: another month is a different date.
  for (const m of claim.months) {
    if (sentences.some((s) => s.months.has(m))) continue;
    const other = sentences.flatMap((s) => [...s.months])[0];
    if (other) return conflict(`date: claim says ${m}, evidence says ${other}`, 0.8);
    return unsupported(`date (${m}) not in evidence`);
  }

  const named = categorySwap(claim, sentences);
  if (named) return unsupported(named, 0.75, true);

  // Proper names missing while the window names someone or something else in that role: a swapped name.
  for (const name of claim.names) {
    if (matched.has(stemWord(name)) || claim.codes.some((c) => c.words.includes(name))) continue;
    const context = contextStems(claim.tokens, Math.max(0, claim.tokens.findIndex((t) => t.word === name)));
    for (const s of sentences) {
      for (const other of s.names) {
        if (claim.names.has(other)) continue;
        const at = s.tokens.findIndex((t) => t.word === other);
        if (at >= 0 && roleScore(context, s.tokens, at) >= 2) {
          return unsupported(`name "${name}" not in evidence (evidence has "${other}")`, 0.75, true);
        }
      }
    }
  }

  for (const s of sentences) {
    const swap = bindingSwap(claim, s);
    if (swap) return unsupported(swap, 0.75, true);
  }

  const polarity = polarityConflict(claim, passage.sentences, sentences);
  if (polarity) return conflict(polarity, 0.75);

  // Overstatement: "must"/"always" where the evidence only says "may"/"can".
  const strong = claim.tokens.find((t) => STRONG_MODALS.has(t.word));
  if (strong) {
    const words = new Set(sentences.flatMap((s) => s.words));
    const weak = [...WEAK_MODALS].find((w) => words.has(w));
    if (weak && ![...STRONG_MODALS].some((w) => words.has(w)) && !words.has('required')) {
      return unsupported(`the claim says "${strong.word}", the evidence only "${weak}"`, 0.7, true);
    }
  }

  if (coverage < SUPPORT_THRESHOLD) {
    const list = missing
      .slice(0, 4)
      .map((t) => t.word)
      .join(', ');
    return unsupported(
      `only ${Math.round(coverage * 100)}% of the claim's content words are in the evidence${list ? ` (missing: ${list})` : ''}`,
      round(0.5 + (0.5 * (SUPPORT_THRESHOLD - coverage)) / SUPPORT_THRESHOLD),
    );
  }
  const checked = [
    claim.numbers.length ? 'numbers' : '',
    claim.codes.length || claim.names.size ? 'names' : '',
  ].filter(Boolean);
  return {
    verdict: 'supported',
    decisive: true,
    confidence: round(0.5 + 0.5 * coverage),
    reason: `${Math.round(coverage * 100)}% of the claim's content words in the evidence${checked.length ? `, ${checked.join(' and ')} match` : ''}`,
    coverage,
  };
}

/**
 * A polarity conflict between the claim and the passage: for a claim word, the passage's sentences that state it
 * with the claim's polarity are compared with those that state it negated (or state its opposite); when the best of
 * the latter shares more of the claim's other words than any of the former, the passage says the opposite.
 */
function polarityConflict(claim: ClaimAnalysis, sentences: Sentence[], window: Sentence[]): string | null {
  const claimHasNegation = hasNegation(claim.tokens);
  for (const st of claim.stems) {
    // The opposing sentence must be about the word's clause: share a good part of its other words.
    const about = claim.clauses.get(st) ?? claim.stems;
    const minOverlap = Math.max(1, 0.4 * (about.size - 1));
    const opps = opposites(st);
    if (opps.some((o) => claim.stems.has(o))) continue; // "lists are mutable, tuples immutable" states both
    const claimNegated = claim.negated.has(st);
    let agree = -1;
    let disagree: { overlap: number; sentence: Sentence; opposite: string | null } | null = null;
    for (const s of sentences) {
      // On a tie, the sentences the claim was matched with speak for it.
      const overlap = [...about].filter((o) => o !== st && s.stems.has(o)).length + (window.includes(s) ? 0.5 : 0);
      let same: boolean | null = null;
      let opposite: string | null = null;
      const stated = s.stems.has(st) ? st : [...(SYNONYMS.get(st) ?? [])].find((y) => s.stems.has(y));
      if (stated) {
        same = s.negated.has(stated) === claimNegated;
        // Negation scopes are guessed ("no upstream is given" = "upstream is not specified"): a polarity difference
        // only counts when the side said to be plain has no negation at all, and a negation right next to the word
        // ("files will not match" for "not files") agrees with a negated claim.
        if (!same && claimNegated && negationNear(s.tokens, stated)) same = true;
        else if (!same && (claimNegated ? hasNegation(s.tokens) : claimHasNegation)) same = null;
      } else {
        opposite = opps.find((o) => s.stems.has(o)) ?? null;
        if (opposite) same = s.negated.has(opposite) !== claimNegated; // "not immutable" says "mutable"
      }
      if (same === true) agree = Math.max(agree, overlap);
      else if (same === false && (!disagree || overlap > disagree.overlap)) disagree = { overlap, sentence: s, opposite };
    }
    if (disagree && disagree.overlap >= minOverlap && disagree.overlap > agree) {
      const word = wordOf(claim, st);
      if (disagree.opposite) {
        const said = disagree.sentence.tokens.find((t) => t.stem === disagree.opposite)?.word ?? disagree.opposite;
        return `the claim says "${claimNegated ? `not ${word}` : word}", the evidence says "${said}"`;
      }
      return claimNegated
        ? `negation: the claim says "not ${word}", the evidence does not negate it`
        : `negation: the evidence says "not ${word}", the claim does not`;
    }
  }
  return null;
}

/**
 * Nouns that make the word before them a name: "the spawn start method", "the tzdata package", "the json module".
 * Such a name is as specific as a code name, however it is written.
 */
const CATEGORY_NOUNS = new Set(
  `method module package library function class parameter argument attribute option flag mode protocol algorithm
  format codec backend exception type keyword field variable command tool header encoding scheme policy strategy
  extension plugin driver engine server client service handler loader`
    .split(/\s+/)
    .map(stemWord),
);

/**
 * A name written as a plain word ("the forkserver start method") that no passage uses, where the window names
 * something else of the same category ("the spawn start method"): a swapped name, not a paraphrase.
 */
function categorySwap(claim: ClaimAnalysis, sentences: Sentence[]): string | null {
  const claimNames = namesBeforeCategory(claim.tokens);
  for (const s of sentences) {
    const evidenceNames = namesBeforeCategory(s.tokens);
    for (const [category, names] of claimNames) {
      for (const name of names) {
        if (!claim.novel.has(name.stem)) continue;
        const other = evidenceNames.get(category)?.find((o) => o.stem !== name.stem && !claim.stems.has(o.stem));
        if (other) return `name "${name.word}" not in evidence (evidence has "${other.word}" as the ${category})`;
      }
    }
  }
  return null;
}

/** Category (its stems, "start method" or "method") → the words naming one; see CATEGORY_NOUNS. */
function namesBeforeCategory(tokens: Token[]): Map<string, Token[]> {
  const out = new Map<string, Token[]>();
  const add = (key: string, t: Token | undefined): void => {
    if (t && isContent(t) && !CATEGORY_NOUNS.has(t.stem)) out.set(key, [...(out.get(key) ?? []), t]);
  };
  tokens.forEach((t, i) => {
    if (!CATEGORY_NOUNS.has(t.stem)) return;
    const prev = tokens[i - 1];
    add(t.word, prev);
    // "the spawn start method": the name may sit before a compound category.
    if (prev && isContent(prev)) add(`${prev.word} ${t.word}`, tokens[i - 2]);
  });
  return out;
}

/** Words that turn a condition around without a negation ("if given, ...; otherwise ..."). */
const CONTRAST_WORDS = new Set(['otherwise', 'unless', 'else', 'except']);

function hasNegation(tokens: Token[]): boolean {
  return tokens.some((t) => t.negation || CONTRAST_WORDS.has(t.word));
}

/** A negation within 3 words of stem `st`. */
function negationNear(tokens: Token[], st: string): boolean {
  return tokens.some((t, i) => t.stem === st && tokens.slice(Math.max(0, i - 3), i + 4).some((x) => x.negation));
}

/** Stems meaning the opposite of `st`: antonyms, and the word with a negative prefix added or removed. */
function opposites(st: string): string[] {
  const out = [...(ANTONYMS.get(st) ?? [])];
  for (const [p, min] of NEGATIVE_PREFIXES) {
    if (st.length >= min) out.push(`${p}${st}`);
    if (st.startsWith(p) && st.length - p.length >= min) out.push(st.slice(p.length));
  }
  return out;
}

function wordOf(claim: ClaimAnalysis, st: string): string {
  return claim.tokens.find((t) => t.stem === st)?.word ?? st;
}

function round(x: number): number {
  return Math.round(Math.min(1, Math.max(0, x)) * 100) / 100;
}
