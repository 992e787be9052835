/**
 * The local provider's answerer (`local-extractive`): which sentences of the passages answer the question. The
 * method is described in ./local.ts's header (## Answers); this file is its implementation. Deterministic for a given
 * input and encoder availability; the answer is always text copied from the passages.
 */
import { cosine, type SentenceEncoder } from '../encoder';
import { throwIfAborted } from '../errors';
import { STOPWORDS, normalizeText, splitSentences, stem, tokenizeWords } from '../text';

export const NO_ANSWER_TEXT = 'The provided documents do not contain an answer to this question.';

export interface Passage {
  /** The citation number `n` of its `[n] ` line. */
  n: number;
  text: string;
}

export interface ExtractiveOptions {
  /** The semantic model; without one (or when it is unavailable) sentences are scored on words alone. */
  encoder?: SentenceEncoder | null;
  /** What each passage is (its `Source n:` line: title › headings), by passage number. */
  sources?: ReadonlyMap<number, string>;
  signal?: AbortSignal;
}

/** A passage an abstention considered, and how close it came to answering. */
export interface ConsideredPassage {
  n: number;
  /** Its source description, else its first words. */
  label: string;
  /** The best cosine similarity of one of its sentences (in context) to the question; null on the lexical path. */
  similarity: number | null;
  /** The best share of the question's (IDF-weighted) content words one of its sentences holds, 0..1. */
  coverage: number;
}

export interface ExtractiveAnswer {
  /** The answer text; an abstention starts with `NO_ANSWER_TEXT` (followed by the passages considered). */
  text: string;
  /** Citation numbers once each, in answer order. */
  citations: number[];
  /** The sentences used, in answer order, with the passage each came from. */
  sentences: { n: number; text: string; score: number }[];
  /** `semantic` when the encoder scored the sentences, `lexical` when it was not there or not available. */
  method: 'semantic' | 'lexical';
  /** For an abstention: every passage considered (empty for an answer, or when there was no question or passage). */
  considered: ConsideredPassage[];
}

// ---------------------------------------------------------------------------------------------------------------
// Question types and the sentence features that fit them

/** What kind of thing the question asks for; a question can ask for several. */
export interface QuestionKinds {
  number: boolean;
  version: boolean;
  default: boolean;
  code: boolean;
  yesNo: boolean;
  howTo: boolean;
}

const KIND_PATTERNS: Record<keyof QuestionKinds, RegExp> = {
  number:
    /\bhow (?:many|much|large|big|small|long|often|old|high|low|far)\b|\b(?:maximum|minimum|max|min|limit|range|size|count|number of|percent(?:age)?)\b/iu,
  version: /\b(?:versions?|since when|since which|introduced|new in)\b/iu,
  default:
    /\bdefaults?\b|\bby default\b|\bunless\b|\botherwise\b|\binitial(?:ly)?\b|\bif (?:i|you|we|it|one) (?:never|do not|don'?t|does not|doesn'?t)\b|\b(?:is|are) not (?:set|given|specified)\b/iu,
  code: /\b(?:variables?|propert(?:y|ies)|options?|commands?|functions?|macros?|modules?|flags?|arguments?|keywords?|settings?|switch|generator expressions?|syntax|identifiers?|policy|policies|targets?|files?|directory|environment)\b/iu,
  yesNo:
    /(?:^|[.?!]\s+)(?:is|are|was|were|does|do|did|can|could|should|will|would|has|have|must|may)\b(?![^?]*\bor\b[^?]*\?)/iu,
  howTo:
    /\bhow (?:do|can|should|would|could|to|does one)\b|\bwhat (?:should|do|can|must) (?:i|we|you)\b|\bwhich \w+ (?:do|should|must|can) (?:i|we|you)\b/iu,
};

export function questionKinds(question: string): QuestionKinds {
  const out = {} as QuestionKinds;
  for (const [kind, re] of Object.entries(KIND_PATTERNS)) out[kind as keyof QuestionKinds] = re.test(question);
  return out;
}

const VERSION_RE = /\b\d+\.\d+(?:\.\d+)*\b|\bnew in version\b|\bversion \d/iu;
const DIGIT_RE = /\p{N}/u;
const DEFAULT_RE =
  /\bdefaults?\b|\bby default\b|\bdefaulted\b|\binitiali[sz]ed\b|\binitial value\b|\bunless\b|\botherwise\b|\bif (?:it is |this is |the \S+ is )?not (?:set|given|specified)\b/iu;
/** Code-like tokens: identifiers with underscores, CONSTANTS, calls, `$<...>`/`${...}`, `-flag`/`--option`, `<placeholders>`, paths. */
const CODE_RE =
  /\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b|\b[A-Z][A-Z0-9]{2,}\b|\b\w+\(\)|\$[<{(]|(?:^|\s)--?[A-Za-z][\w-]*|<[A-Za-z][\w-]*>|\b\w+\.\w{2,5}\b|::/u;
const POLARITY_RE = /\b(?:not|no|never|only|cannot|must|always|ignored?|required?)\b/iu;
/** A sentence that tells the reader what to do: `To build X, ...`, or a capitalised verb followed by an object. */
const IMPERATIVE_RE =
  /^(?:to \p{Ll}+\b|(?:\p{Lu}\p{Ll}+) (?:the|a|an|this|that|these|those|each|every|all|it|them|one|your|its|\S*[_<$(-]\S*))/u;

/**
 * How well a sentence's form fits the kinds the question asks for, 0..1: the weighted share of the asked kinds it
 * has. A number, a version or a default is a strong sign (weight 1); code, imperative steps and polarity words are
 * common in any manual, so they weigh less.
 */
export function kindFit(sentence: string, kinds: QuestionKinds): number {
  let asked = 0;
  let met = 0;
  const check = (on: boolean, weight: number, has: boolean) => {
    if (!on) return;
    asked += weight;
    if (has) met += weight;
  };
  check(kinds.version, 1, VERSION_RE.test(sentence));
  check(kinds.number && !kinds.version, 1, DIGIT_RE.test(sentence));
  check(kinds.default, 1, DEFAULT_RE.test(sentence));
  check(kinds.code, 0.5, CODE_RE.test(sentence));
  check(kinds.yesNo, 0.3, POLARITY_RE.test(sentence));
  check(kinds.howTo, 0.5, IMPERATIVE_RE.test(sentence) || CODE_RE.test(sentence));
  return asked ? met / asked : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring

/** Words of prompt boilerplate that say nothing about the topic ("Answer the question using the passages"). */
const INSTRUCTION_WORDS: ReadonlySet<string> = new Set(
  `answer answers answering question questions passage passages document documents context contexts source sources
  cite citing citation citations provided provide following below above use using based only please given brief
  briefly concise concisely sentence sentences reply respond response tell explain describe know`.split(/\s+/),
);

const MAX_SENTENCES = 3;
/** Lexical path: the share of the question's words a sentence needs, and how close to the best the others must be. */
const MIN_COVERAGE = 0.25;
/** Lexical path: the share of its score a sentence loses per place in the passage order. */
const LEXICAL_RANK = 0.1;
/** Semantic path: the share of the question's words that lets a slightly less similar sentence support an answer. */
const SUPPORTING_COVERAGE = 0.45;
const RELATIVE_TO_BEST = 0.5;
const NEIGHBOUR_CREDIT = 0.3;
const MATCH_BONUS = 0.5;
/** Semantic path: the similarity (sentence in context) below which no sentence supports an answer. */
const MIN_SIMILARITY = 0.45;
/** The same when the passages name none of the things the question names: only a clearly close sentence answers. */
const MIN_SIMILARITY_UNNAMED = 0.55;
/** Semantic path: how far below its passage's best sentence another sentence may score and still be quoted. */
const SCORE_MARGIN = 0.3;
/** Semantic path: at most this many sentences are encoded (an answer's context of 6 × 400 tokens has about 150). */
const MAX_ENCODED = 400;
/** Semantic path: the weights of a sentence's score (see ./local.ts's header). */
const W = {
  similarity: 0.4,
  context: 0.6,
  coverage: 0.25,
  fit: 0.25,
  /** Per place in the passage order: the retriever ranked earlier passages as more relevant. */
  rank: 0.12,
  /** When the question names a number the sentence and its neighbours lack. */
  numbers: 0.1,
  /** How far below the best a sentence of the question's kind may score and still take a place. */
  slot: 0.6,
  /** How much closer than the threshold a sentence with the question's words (coverage 0.45) may be. */
  lexicalSupport: 0.1,
};

interface Candidate {
  n: number;
  passageOrder: number;
  sentenceOrder: number;
  text: string;
  terms: Set<string>;
  raw: Set<string>;
  words: number;
}

interface Scored {
  c: Candidate;
  /** Lexical: IDF-weighted share of the question's words, neighbours at 0.3; 0..1. */
  coverage: number;
  /** Lexical score (coverage with bonuses for numbers and names, length-damped). */
  lexical: number;
  /** False when the question names a number the sentence (and its neighbours) lacks. */
  numbersOk: boolean;
  fit: number;
  similarity: number;
  contextSimilarity: number;
  score: number;
}

/** The extractive answer to `question` from `passages` (see ./local.ts's header). Never rejects for want of a model. */
export async function extractiveAnswer(
  passages: readonly Passage[],
  question: string,
  opts: ExtractiveOptions = {},
): Promise<ExtractiveAnswer> {
  const none: ExtractiveAnswer = {
    text: NO_ANSWER_TEXT,
    citations: [],
    sentences: [],
    method: 'lexical',
    considered: [],
  };

  // Question terms: stemmed content words, instruction words dropped (unless nothing else is left).
  const qWords = tokenizeWords(normalizeText(question)).filter((w) => !STOPWORDS.has(w));
  const topical = qWords.filter((w) => !INSTRUCTION_WORDS.has(w));
  const qTerms = new Set((topical.length ? topical : qWords).map(stem));
  if (qTerms.size === 0 || passages.length === 0) return none;
  // Numbers and names (capitalised words after the first) earn a bonus when a sentence has them verbatim.
  const special = new Set<string>();
  tokenizeWords(question.normalize('NFKC')).forEach((w, i) => {
    if (/\p{N}/u.test(w) || (i > 0 && /^\p{Lu}/u.test(w))) special.add(w.toLowerCase());
  });
  const numbers = [...special].filter((w) => /^\p{N}+(?:[.,]\p{N}+)*$/u.test(w));
  const kinds = questionKinds(question);

  const perPassage: Candidate[][] = passages.map((p, passageOrder) =>
    splitSentences(p.text).map((s, sentenceOrder) => {
      const raw = tokenizeWords(normalizeText(s.text));
      return {
        n: p.n,
        passageOrder,
        sentenceOrder,
        text: s.text.replace(/\s+/gu, ' '),
        terms: new Set(raw.filter((w) => !STOPWORDS.has(w)).map(stem)),
        raw: new Set(raw),
        words: raw.length,
      };
    }),
  );
  const all = perPassage.flat();
  if (all.length === 0) return none;

  // Smoothed IDF over the sentences; a question word found nowhere weighs the most (it makes answers less likely).
  const df = new Map<string, number>();
  for (const c of all) for (const t of c.terms) if (qTerms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
  const idf = new Map<string, number>();
  let total = 0;
  for (const t of qTerms) {
    const w = Math.log((all.length + 1) / ((df.get(t) ?? 0) + 0.5)) + 1;
    idf.set(t, w);
    total += w;
  }

  const scored: Scored[] = [];
  const seen = new Set<string>();
  for (const sentences of perPassage) {
    sentences.forEach((c, i) => {
      if (seen.has(c.text) || c.words === 0) return;
      seen.add(c.text);
      let own = 0;
      let near = 0;
      const neighbours = [sentences[i - 1], sentences[i + 1]];
      for (const t of qTerms) {
        const w = idf.get(t) ?? 0;
        if (c.terms.has(t)) own += w;
        else if (neighbours.some((s) => s?.terms.has(t))) near += w;
      }
      // A question that names a number (a year, a version) is only answered by a sentence with one of its numbers
      // (itself or next to it): "Python 3.11 was released in 2022" does not answer "When was 3.12 released?".
      const numbersOk = !numbers.length || numbers.some((x) => c.raw.has(x) || neighbours.some((s) => s?.raw.has(x)));
      let bonus = 0;
      for (const w of special) if (c.raw.has(w)) bonus += MATCH_BONUS * (idf.get(stem(w)) ?? 1);
      const lengthFactor = 1 / (1 + 0.02 * Math.max(0, c.words - 30));
      scored.push({
        c,
        coverage: (own + NEIGHBOUR_CREDIT * near) / total,
        lexical: own === 0 ? 0 : ((own + NEIGHBOUR_CREDIT * near + bonus) / total) * lengthFactor,
        numbersOk,
        fit: kindFit(c.text, kinds),
        similarity: 0,
        contextSimilarity: 0,
        score: 0,
      });
    });
  }

  const semantic = opts.encoder ? await semanticScores(scored, perPassage, question, opts) : false;
  throwIfAborted(opts.signal);
  // Meaning alone confuses things of a kind ("the capital of Germany" is close to "Paris is the capital of France"):
  // when the passages name none of the things the question names, only a clearly close sentence answers (and the
  // lexical path, which cannot tell, does not answer).
  const names = questionNames(question);
  const passageWords = new Set(all.flatMap((c) => [...c.raw]));
  for (const source of opts.sources?.values() ?? [])
    for (const w of tokenizeWords(normalizeText(source))) passageWords.add(w);
  const named = !names.length || names.some((name) => name.every((w) => passageWords.has(w)));
  const chosen = semantic
    ? chooseSemantic(scored, kinds, named ? MIN_SIMILARITY : MIN_SIMILARITY_UNNAMED)
    : named
      ? chooseLexical(scored)
      : [];
  const method = semantic ? 'semantic' : 'lexical';
  if (chosen.length === 0) {
    const considered = passages.map((p, i) => {
      const own = scored.filter((s) => s.c.passageOrder === i);
      return {
        n: p.n,
        label: passageLabel(p, opts.sources),
        similarity: semantic ? round2(Math.max(0, ...own.map((s) => s.contextSimilarity))) : null,
        coverage: round2(Math.max(0, ...own.map((s) => s.coverage))),
      };
    });
    return { ...none, text: abstentionText(considered), method, considered };
  }
  const parts = withContext(chosen, perPassage);
  const citations: number[] = [];
  for (const p of parts) if (!citations.includes(p.c.n)) citations.push(p.c.n);
  return {
    text: parts.map((p) => `${p.c.text} [${p.c.n}]`).join(' '),
    citations,
    sentences: parts.map((p) => ({ n: p.c.n, text: p.c.text, score: round2(p.score) })),
    method,
    considered: [],
  };
}

/**
 * The names a question mentions, each as its words: capitalised words other than a sentence's first (runs of them
 * are one name: "Mount Everest"), and code-like identifiers (`CMAKE_BUILD_TYPE`, `add_library`, `--build`).
 */
export function questionNames(question: string): string[][] {
  const names: string[][] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length) names.push(run);
    run = [];
  };
  for (const sentence of question.normalize('NFKC').split(/(?<=[.?!])\s+/u)) {
    const tokens = sentence.split(/[\s,;:()"“”'‘’?!]+/u).filter(Boolean);
    tokens.forEach((token, i) => {
      const words = tokenizeWords(token.toLowerCase());
      const code = /[_$<>]|::|^--?\w|\w\(\)|[a-z][A-Z]/u.test(token);
      const capital = i > 0 && /^\p{Lu}/u.test(token) && !(words.length === 1 && STOPWORDS.has(words[0]!));
      if (code && words.length) {
        flush();
        names.push(words);
      } else if (capital && words.length) run.push(...words);
      else flush();
    });
    flush();
  }
  return names;
}

/** A term of a definition list: a short line without final punctuation (`CMAKE_INSTALL_DEBUG_LIBRARIES`). */
const isTerm = (c: Candidate | undefined): c is Candidate => !!c && c.words <= 4 && !/[.!?:;,]$/u.test(c.text);

/**
 * The chosen sentences in passage order, each with what it needs to be read alone: the term it describes (the line
 * before it, in a definition list) and, for a lead-in ending with `:`, the sentence it introduces.
 */
function withContext(chosen: Scored[], perPassage: Candidate[][]): { c: Candidate; score: number }[] {
  const picked = new Map<Candidate, number>();
  for (const s of chosen) {
    const list = perPassage[s.c.passageOrder]!;
    const prev = list[s.c.sentenceOrder - 1];
    const next = list[s.c.sentenceOrder + 1];
    if (isTerm(prev) && !isTerm(s.c) && !picked.has(prev)) picked.set(prev, s.score);
    picked.set(s.c, Math.max(s.score, picked.get(s.c) ?? -Infinity));
    if (next && s.c.text.endsWith(':') && !picked.has(next)) picked.set(next, s.score);
  }
  return [...picked.entries()]
    .map(([c, score]) => ({ c, score }))
    .sort((a, b) => a.c.passageOrder - b.c.passageOrder || a.c.sentenceOrder - b.c.sentenceOrder);
}

/** The lexical path (no encoder): the IDF-weighted word overlap of the question and each sentence. */
function chooseLexical(scored: Scored[]): Scored[] {
  const qualified = scored.filter((s) => s.numbersOk && s.lexical > 0 && s.coverage >= MIN_COVERAGE);
  if (!qualified.length) return [];
  for (const s of qualified) s.score = s.lexical * (1 + 0.25 * s.fit) * (1 - LEXICAL_RANK * s.c.passageOrder);
  // As on the semantic path, the answer quotes the passage that holds the best sentence.
  const top = qualified.reduce((a, b) => (b.score > a.score ? b : a));
  const own = qualified.filter((s) => s.c.passageOrder === top.c.passageOrder);
  return pickTop(own, (best) => RELATIVE_TO_BEST * best);
}

/**
 * Encodes the question, each sentence and each passage's source, and sets the semantic similarities and scores.
 * False when the encoder is unavailable (its files cannot be had): the caller falls back to the lexical path.
 */
async function semanticScores(
  scored: Scored[],
  perPassage: Candidate[][],
  question: string,
  opts: ExtractiveOptions,
): Promise<boolean> {
  const encoder = opts.encoder!;
  // Each distinct text once (overlapping chunks repeat sentences), at most MAX_ENCODED sentences in passage order:
  // later ones (a prompt far larger than an answer's context) keep their lexical score alone.
  const texts = [...new Set(perPassage.flat().map((c) => c.text))].slice(0, MAX_ENCODED);
  const sources = [...new Set(perPassage.flatMap((ps) => (ps[0] && opts.sources?.get(ps[0].n)) || []))].filter((t) =>
    t.trim(),
  );
  let vectors: number[][];
  try {
    vectors = await encoder.encode([question, ...texts, ...sources], opts.signal);
  } catch (e) {
    if ((e as Error).name === 'LocalModelUnavailable') return false;
    throw e;
  }
  const q = vectors[0]!;
  const vecOfText = new Map<string, number[]>([...texts, ...sources].map((t, i) => [t, vectors[1 + i]!]));
  const vecOf = (c: Candidate | undefined) => (c ? vecOfText.get(c.text) : undefined);
  const sourceVec = perPassage.map((ps) => {
    const source = ps[0] && opts.sources?.get(ps[0].n);
    return source ? vecOfText.get(source) : undefined;
  });
  for (const s of scored) {
    const list = perPassage[s.c.passageOrder]!;
    const v = vecOf(s.c);
    if (!v) {
      s.score = W.coverage * s.coverage + W.fit * s.fit - W.rank * s.c.passageOrder - 1;
      continue;
    }
    // The sentence in its context: itself, half of each neighbour, half of its passage's title and headings, so
    // "It defaults to ON." under the heading of the option it belongs to is close to a question about that option.
    const mix = v.slice();
    const add = (u: readonly number[] | null | undefined, w: number) => {
      if (u) for (let k = 0; k < mix.length; k++) mix[k]! += w * u[k]!;
    };
    const prev = list[s.c.sentenceOrder - 1];
    const next = list[s.c.sentenceOrder + 1];
    add(vecOf(prev), 0.5);
    add(vecOf(next), 0.5);
    add(sourceVec[s.c.passageOrder], 0.5);
    const norm = Math.sqrt(cosine(mix, mix)) || 1;
    s.similarity = cosine(q, v);
    s.contextSimilarity = cosine(q, mix) / norm;
    const lengthFactor = s.c.words < 3 ? 0.5 : s.c.words > 45 ? 45 / s.c.words : 1;
    s.score =
      (W.similarity * s.similarity + W.context * s.contextSimilarity + W.coverage * s.coverage + W.fit * s.fit) *
        lengthFactor -
      W.rank * s.c.passageOrder -
      (s.numbersOk ? 0 : W.numbers);
  }
  return true;
}

/** The semantic path: the best-scoring sentences, when the best is close enough to the question to support it. */
function chooseSemantic(scored: Scored[], kinds: QuestionKinds, minSimilarity: number): Scored[] {
  const supported = scored.some(
    (s) =>
      s.numbersOk &&
      (s.contextSimilarity >= minSimilarity ||
        (s.coverage >= SUPPORTING_COVERAGE && s.contextSimilarity >= minSimilarity - W.lexicalSupport)),
  );
  if (!supported || !scored.length) return [];
  // The passage that holds the best sentence is where the answer is: the answer quotes that passage's best sentences.
  const top = scored.reduce((a, b) => (b.score > a.score ? b : a));
  const own = scored.filter((s) => s.c.passageOrder === top.c.passageOrder);
  const chosen = pickTop(own, (best) => best - SCORE_MARGIN);
  // A question that asks for a version, a number or a default is answered by a sentence that states one: when the
  // chosen ones do not, the passage's best sentence that does takes the place of the weakest.
  const slots: [boolean, RegExp][] = [
    [kinds.version, VERSION_RE],
    [kinds.number && !kinds.version, DIGIT_RE],
    [kinds.default, DEFAULT_RE],
  ];
  for (const [asked, re] of slots) {
    if (!asked || chosen.some((s) => re.test(s.c.text))) continue;
    const typed = own.find((s) => !chosen.includes(s) && re.test(s.c.text) && s.score >= top.score - W.slot);
    if (!typed) continue;
    if (chosen.length >= MAX_SENTENCES) chosen.pop();
    chosen.push(typed);
  }
  return chosen;
}

function pickTop(qualified: Scored[], floor: (best: number) => number): Scored[] {
  if (qualified.length === 0) return [];
  qualified.sort(
    (a, b) => b.score - a.score || a.c.passageOrder - b.c.passageOrder || a.c.sentenceOrder - b.c.sentenceOrder,
  );
  const min = floor(qualified[0]!.score);
  return qualified.filter((s) => s.score >= min).slice(0, MAX_SENTENCES);
}

// ---------------------------------------------------------------------------------------------------------------
// Abstentions

const round2 = (x: number) => Math.round(x * 100) / 100;

function passageLabel(p: Passage, sources: ReadonlyMap<number, string> | undefined): string {
  const source = sources?.get(p.n)?.trim();
  const label = (source || p.text.replace(/\s+/gu, ' ').trim().split(' ').slice(0, 8).join(' '))
    // No sentence end inside the label: the line stays one sentence for claim splitters.
    .replace(/[.!?…]+(?=\s)/gu, '');
  return label.length > 80 ? `${label.slice(0, 79)}…` : label;
}

/**
 * `NO_ANSWER_TEXT`, then one line per passage considered. Each line is itself worded as an abstention ("Passage 2
 * does not answer it ...", no `[n]` marker), so claim splitters and citation readers find no claim and no citation
 * in it; periods inside a label are kept out of the sentence that says so.
 */
export function abstentionText(considered: readonly ConsideredPassage[]): string {
  if (!considered.length) return NO_ANSWER_TEXT;
  const lines = considered.map((c) => {
    const how =
      c.similarity === null
        ? `at most ${Math.round(c.coverage * 100)}% of the question's words in one sentence`
        : `closest sentence similarity ${c.similarity.toFixed(2)}`;
    return `- Passage ${c.n} does not answer it (${how}): “${c.label}”`;
  });
  return `${NO_ANSWER_TEXT}\nPassages considered:\n${lines.join('\n')}`;
}
