/**
 * Words: tokens (stemmed, numbers canonical, units attached, negations marked), the word lists the checker reads, and
 * the synonym, antonym and negative-prefix tables (stems, computed once).
 */
import { STOPWORDS, stem, tokenizeWords } from '../../llm/text';

export interface Token {
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
export const UNITS = new Map<string, string>();
for (const group of [
  'b byte bytes',
  'kb kilobyte kilobytes',
  'mb megabyte megabytes',
  'gb gigabyte gigabytes',
  'tb terabyte terabytes',
  'pb petabyte petabytes',
  'kib',
  'mib',
  'gib',
  'tib',
  'bit bits',
  'ms millisecond milliseconds',
  's sec secs second seconds',
  'min mins minute minutes',
  'h hr hrs hour hours',
  'd day days',
  'week weeks',
  'month months',
  'year years',
  'percent',
  'k thousand',
  'm million',
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
export function stemWord(word: string): string {
  let s = stemCache.get(word);
  if (s === undefined) {
    s = stem(spelling(word));
    if (stemCache.size < 50_000) stemCache.set(word, s);
  }
  return s;
}

export const NEGATIONS = new Set(
  `not no never none nothing neither nor cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt couldnt
  shouldnt hasnt havent hadnt mustnt neednt without non nobody nowhere`.split(/\s+/),
);
const NUMBER_WORDS: Record<string, string> = {
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
  eleven: '11',
  twelve: '12',
  thirteen: '13',
  fourteen: '14',
  fifteen: '15',
  sixteen: '16',
  seventeen: '17',
  eighteen: '18',
  nineteen: '19',
  twenty: '20',
  thirty: '30',
  forty: '40',
  fifty: '50',
  sixty: '60',
  seventy: '70',
  eighty: '80',
  ninety: '90',
  hundred: '100',
  thousand: '1000',
  million: '1000000',
  billion: '1000000000',
};
export const MONTHS = new Set(
  `january february march april june july august september october november december`.split(/\s+/),
);
export const STRONG_MODALS = new Set(['must', 'always', 'mandatory', 'guaranteed']);
export const WEAK_MODALS = new Set([
  'may',
  'might',
  'can',
  'could',
  'optional',
  'optionally',
  'sometimes',
  'usually',
  'often',
]);
/** Claim words about the sources rather than the subject ("according to the documentation"). */
export const META_WORDS = new Set(`according documentation docs passage passages mentioned stated`.split(/\s+/));
/** Words that carry little on their own: missing them costs half. */
export const LIGHT_STEMS = new Set(
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

export function tokenize(text: string): Token[] {
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
    // Own keys only: "constructor" or "toString" must not find Object.prototype's functions.
    const num = Object.hasOwn(NUMBER_WORDS, word) ? NUMBER_WORDS[word] : undefined;
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

export const isContent = (t: Token): boolean => !t.stop && t.num === undefined;

/** The stem each negation applies to: the next content word within 4 words, else the previous within 3. */
export function negatedStems(tokens: Token[]): Set<string> {
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
// Synonyms, antonyms, negative prefixes (stems, computed once)

const SYNONYM_GROUPS = [
  'error exception',
  'raise throw generate',
  'number count amount',
  'argument parameter arg param',
  'remove delete',
  'begin start launch',
  'finish end complete terminate',
  'fast quick rapid',
  'faster quicker',
  'large big',
  'small little tiny',
  'require need',
  'permit allow let',
  'show display',
  'retrieve fetch obtain get',
  'modify change alter mutate',
  'verify check validate',
  'execute run invoke call',
  'use utilize employ',
  'create make construct build',
  'store save persist',
  'combine merge concatenate join',
  'split divide separate',
  'directory folder',
  'function method',
  'deprecated obsolete',
  'identical same equal',
  'contain include hold',
  'add introduce new',
  'option setting',
  'maximum max limit',
  'minimum min',
  'output result',
  'instance object',
  'attribute property field',
  'character char',
  'integer int',
  'string str',
  'boolean bool',
  'dictionary dict mapping',
  'several multiple many',
  'whole entire full',
  'automatically automatic',
  'return give',
  'spawn create',
  'stop halt',
  'wait block',
  'quickly fast',
  'speed performance',
  'value setting',
  'keyword named',
  'ignore skip',
  'kill terminate',
  'simultaneous concurrent parallel',
  'supply pass provide',
  'print output write',
  'default standard',
  'mean indicate signify denote',
  'receive accept get take pass',
  'specify set define',
  'describe explain',
  'happen occur',
  'entire whole complete',
  'remain stay',
  'necessary required needed',
  'reclaim free release',
  'source src',
  'destination dest',
  'directory dir',
  'configuration config',
  'repository repo',
  'application app',
  'environment env',
  'information info',
  'specification spec',
  'temporary temp tmp',
  'message msg',
  'database db',
  'enable true',
  'disable false',
  'reference ref',
  'documentation docs',
  'implementation impl',
  'initialize init',
  'administrator admin',
  // Common English paraphrases.
  'write implement',
  'aim target',
  'attempt try',
  'approximately roughly',
  'mostly mainly largely primarily',
  'usually typically generally commonly normally',
  'multiply times',
  'refuse reject decline',
  'multi several',
  'appropriate suitable fine acceptable',
  'send forward deliver dispatch',
  'choose select pick',
  'yield produce',
  'examine inspect consider',
  'available work',
  'quick quickly quicker',
  'modern current',
].map((g) => g.split(' ').map(stemWord));
export const SYNONYMS = new Map<string, Set<string>>();
for (const group of SYNONYM_GROUPS) {
  for (const s of group) {
    const set = SYNONYMS.get(s) ?? new Set<string>();
    for (const other of group) if (other !== s) set.add(other);
    SYNONYMS.set(s, set);
  }
}

const ANTONYM_PAIRS = [
  'enable disable',
  'required optional',
  'true false',
  'synchronous asynchronous',
  'sync async',
  'before after',
  'increase decrease',
  'maximum minimum',
  'max min',
  'include exclude',
  'allow deny',
  'allow forbid',
  'enable false',
  'disable true',
  'public private',
  'first last',
  'short long',
  'shorter longer',
  'shortest longest',
  'smallest largest',
  'lowest highest',
  'oldest newest',
  'fastest slowest',
  'declarative imperative',
  'inclusive exclusive',
  'ascending descending',
  'horizontal vertical',
  'stateless stateful',
  'sequential parallel',
  'shared exclusive',
  'older newer',
  'earlier later',
  'faster slower',
  'larger smaller',
  'higher lower',
  'more fewer',
  'always never',
  'accept reject',
  'success failure',
  'succeed fail',
  'upper lower',
  'blocking nonblocking',
  'open close',
  'add remove',
  'start stop',
  'read write',
  'encode decode',
  'serialize deserialize',
  'import export',
  'local remote',
  'explicit implicit',
  'absolute relative',
  'static dynamic',
  'strict lenient',
  'lazy eager',
  'lowercase uppercase',
  'global local',
].map((p) => p.split(' ').map(stemWord) as [string, string]);
export const ANTONYMS = new Map<string, Set<string>>();
for (const [a, b] of ANTONYM_PAIRS) {
  ANTONYMS.set(a, (ANTONYMS.get(a) ?? new Set()).add(b));
  ANTONYMS.set(b, (ANTONYMS.get(b) ?? new Set()).add(a));
}
/** Negative prefixes and the shortest stem they may negate (`in` + `put` is not a negation; `in` + `valid` is). */
export const NEGATIVE_PREFIXES: [string, number][] = [
  ['un', 4],
  ['dis', 4],
  ['non', 4],
  ['in', 5],
  ['im', 5],
  ['il', 5],
  ['ir', 5],
];

/** How well stem `a` (claim) matches stem `b` (evidence): 1 same, 0.85 synonym, 0.8/0.7 derived form, else 0. */
export function stemMatch(a: string, b: string): number {
  if (a === b) return 1;
  if (SYNONYMS.get(a)?.has(b)) return 0.85;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  if (short.length >= 4 && long.startsWith(short) && long.length - short.length <= 5) return 0.8;
  let common = 0;
  while (common < short.length && short[common] === long[common]) common++;
  if (common >= 6 && common >= 0.8 * short.length) return 0.7;
  return 0;
}
