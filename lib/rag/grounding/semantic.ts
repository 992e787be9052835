/**
 * The semantic grounding check: a sentence encoder aligns each claim, and each clause of it, with the evidence span
 * (a sentence, or two adjacent ones) that states the most similar meaning; the lexical guards then look for what
 * embeddings miss (a different number, a swapped name, the opposite polarity); a clause that no span states is
 * content the evidence never mentions; and with the question given, a claim that does not address it is not support.
 */
import type { ClaimVerdict } from '../../contracts';
import { cosine, type SentenceEncoder } from '../../llm/encoder';
import { splitClaims } from '../claims';
import { analyseClaim } from './claim-analysis';
import { guardWindow, round, termCoverage, type Guard, type Window } from './check-window';
import { indexEvidence, type Evidence, type Passage, type Sentence } from './evidence';
import { codeAt, codeNames, escapeRe, findSeq, nameWords } from './names';
import { droppedLogicWord, unmatchedLogicWord } from './logic-words';
import { SEMANTIC } from './thresholds';

export interface SemanticCheckOptions {
  question?: string;
  /** Citation number → evidence id (see AnswerCheckOptions). */
  citations?: Readonly<Record<number, string>>;
  signal?: AbortSignal;
  /** Guards to leave out (for measuring what each one is worth). */
  skip?: ReadonlySet<Guard>;
  /** Per-claim measurements, for the bench. */
  trace?: (t: ClaimTrace) => void;
}

export interface ClaimTrace {
  claim: string;
  similarity: number;
  clauses: {
    text: string;
    similarity: number;
    coverage: number;
    score: number;
    logic: string | null;
    swap: string | null;
  }[];
  relevance: number | null;
  /** Question ↔ the claim's span, and question ↔ the evidence sentence most like the question. */
  spanRelevance: number | null;
  bestRelevance: number | null;
  verdict: ClaimVerdict;
}

/** Guards the semantic path leaves out: "must" vs "may" (measured neutral on both dev sets; one rule less). */
const SEMANTIC_SKIPS: readonly Guard[] = ['modals'];

/** Texts → unit vectors, each text encoded once per check. */
class VectorCache {
  private readonly vectors = new Map<string, number[]>();
  constructor(
    private readonly encoder: SentenceEncoder,
    private readonly signal?: AbortSignal,
  ) {}

  async load(texts: string[]): Promise<void> {
    const missing = [...new Set(texts)].filter((t) => !this.vectors.has(t));
    for (let i = 0; i < missing.length; i += 64) {
      const batch = missing.slice(i, i + 64);
      const vectors = await this.encoder.encode(batch, this.signal);
      batch.forEach((t, k) => this.vectors.set(t, vectors[k]!));
    }
  }

  get(text: string): number[] {
    const v = this.vectors.get(text);
    if (!v) throw new Error(`not encoded: ${text.slice(0, 40)}`);
    return v;
  }
}

interface Span {
  window: Window;
  text: string;
}

export async function checkAnswerSemantic(
  answer: string,
  evidence: Evidence[],
  encoder: SentenceEncoder,
  options: SemanticCheckOptions = {},
): Promise<{ claims: ClaimVerdict[]; score: number }> {
  const index = indexEvidence(evidence);
  const question = options.question?.trim() || undefined;
  const claims = splitClaims(answer).map((c) => ({ ...c, original: c.text, text: withoutAnswerWord(c.text) }));
  const clausesOf = new Map(claims.map((c) => [c.text, splitClauses(c.text)]));
  const cache = new VectorCache(encoder, options.signal);
  const sentences: Span[] = index.passages.flatMap((passage) =>
    passage.sentences.map((s) => ({ window: { passage, sentences: [s] }, text: s.text })),
  );
  await cache.load([
    ...claims.map((c) => c.text),
    ...[...clausesOf.values()].flat(),
    ...sentences.map((x) => x.text),
    ...(question ? [question] : []),
  ]);

  // The spans a text may be stated in: its most similar sentences, alone and with each neighbour.
  const spansFor = (text: string): Span[] => {
    const v = cache.get(text);
    const top = sentences
      .map((x) => ({ x, similarity: cosine(v, cache.get(x.text)) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, SEMANTIC.sentencesChecked);
    const out: Span[] = [];
    for (const { x } of top) {
      out.push(x);
      const { passage } = x.window;
      const at = passage.sentences.indexOf(x.window.sentences[0]!);
      if (at > 0) out.push(spanOf(passage, passage.sentences.slice(at - 1, at + 1)));
      if (at + 1 < passage.sentences.length) out.push(spanOf(passage, passage.sentences.slice(at, at + 2)));
    }
    return dedupe(out);
  };
  const plans = claims.map((claim) => ({
    claim,
    spans: spansFor(claim.text),
    clauses: (clausesOf.get(claim.text) ?? []).map((text) => ({ text, spans: spansFor(text) })),
  }));
  await cache.load(plans.flatMap((p) => [...p.spans, ...p.clauses.flatMap((c) => c.spans)].map((s) => s.text)));

  const qv = question ? cache.get(question) : null;
  const bestRelevance = qv ? Math.max(...sentences.map((x) => cosine(qv, cache.get(x.text)))) : null;
  const skip = new Set<Guard>([...SEMANTIC_SKIPS, ...(options.skip ?? [])]);
  const verdicts: ClaimVerdict[] = [];
  const traces: ClaimTrace[] = [];
  for (const { claim, spans, clauses } of plans) {
    const v = cache.get(claim.text);
    const ranked = spans
      .map((span) => ({ span, similarity: cosine(v, cache.get(span.text)) }))
      .sort((a, b) => b.similarity - a.similarity);
    const citedIds = claim.citations
      .map((n) => resolveCitation(n, evidence, options.citations))
      .filter((id): id is string => id !== undefined);
    const analysis = analyseClaim(claim.text, index);
    const clauseScores = clauses.map(({ text, spans: cs }) => {
      const cv = cache.get(text);
      const best = cs
        .map((span) => ({ span, similarity: cosine(cv, cache.get(span.text)) }))
        .sort((a, b) => b.similarity - a.similarity)[0];
      const coverage = best
        ? termCoverage(analyseClaim(text, index), best.span.window.sentences, best.span.window.passage).coverage
        : 0;
      const similarity = best?.similarity ?? 0;
      const added = best ? unmatchedLogicWord(text, best.span.text) : null;
      const dropped = best && !added ? droppedLogicWord(text, best.span.text) : null;
      const logic = added
        ? `the claim says "${added}", the evidence span it restates has no such word`
        : dropped
          ? `the evidence says "${dropped}", the claim states it without "${dropped.split(' ')[0]}"`
          : null;
      const swap = best && !skip.has('names') ? swappedName(text, best.span.window, question) : null;
      return { text, similarity, coverage, score: similarity + SEMANTIC.coverageWeight * coverage, logic, swap };
    });
    const unstated = clauseScores.filter((c) => c.score < SEMANTIC.clauseSupport);
    const logic = skip.has('logic') ? undefined : clauseScores.find((c) => c.logic);
    const swapped = clauseScores.find((c) => c.swap);
    const passageText = [...new Set(ranked.map((r) => r.span.window.passage.text))].join('\n');
    const value = skip.has('values') ? null : unquotedValue(claim.text, passageText, question ?? '');

    let verdict: ClaimVerdict | null = null;
    let first: ClaimVerdict | null = null;
    const ordered = [...ranked].sort(
      (a, b) =>
        b.similarity +
        (citedIds.includes(b.span.window.passage.id) ? SEMANTIC.citedBonus : 0) -
        (a.similarity + (citedIds.includes(a.span.window.passage.id) ? SEMANTIC.citedBonus : 0)),
    );
    for (const { span, similarity } of ordered.slice(0, SEMANTIC.windowsChecked)) {
      const { coverage, matched } = termCoverage(analysis, span.window.sentences, span.window.passage);
      const conflict = guardWindow(
        analysis,
        span.window,
        { coverage, matched, given: question, strictNames: true, spelledCounts: true },
        skip,
      );
      const make = (kind: ClaimVerdict['verdict'], confidence: number, reason: string): ClaimVerdict => ({
        claim: claim.text,
        verdict: kind,
        confidence: round(confidence),
        evidence: { id: span.window.passage.id, span: spanText(span.window) },
        reason,
      });
      let current: ClaimVerdict;
      if (conflict) {
        const onTopic = similarity >= SEMANTIC.topic && conflict.decisive;
        current = make(
          conflict.verdict === 'contradicted' || onTopic ? 'contradicted' : 'unsupported',
          conflict.confidence,
          conflict.reason,
        );
      } else if (value) {
        current = make('unsupported', 0.8, `value \`${value}\` is not in the evidence`);
      } else if (swapped) {
        current = make(similarity >= SEMANTIC.topic ? 'contradicted' : 'unsupported', 0.7, swapped.swap!);
      } else if (logic) {
        current = make(similarity >= SEMANTIC.topic ? 'contradicted' : 'unsupported', 0.7, logic.logic!);
      } else if (unstated.length) {
        const c = unstated[0]!;
        current = make(
          'unsupported',
          0.5 + Math.min(0.45, SEMANTIC.clauseSupport - c.score),
          `no evidence span states "${c.text}" (similarity ${c.similarity.toFixed(2)}, ${Math.round(c.coverage * 100)}% of its words)`,
        );
      } else {
        const notCited = citedIds.length > 0 && !citedIds.includes(span.window.passage.id);
        current = make(
          'supported',
          (0.5 + similarity / 2) * (notCited ? 0.9 : 1),
          `the evidence states it (similarity ${similarity.toFixed(2)}); numbers, names and polarity agree${notCited ? '; not in the cited passage' : ''}`,
        );
      }
      first ??= current;
      if (current.verdict === 'supported') {
        verdict = current;
        break;
      }
      // A conflict in the most similar span decides: another span does not make a wrong number right.
      if (conflict?.decisive) break;
    }
    verdict ??= first ?? {
      claim: claim.text,
      verdict: 'unsupported',
      confidence: 0.9,
      evidence: null,
      reason: 'no evidence passage to check against',
    };

    const relevance = qv ? cosine(qv, v) : null;
    const aligned = ranked[0];
    const spanRelevance = qv && aligned ? cosine(qv, cache.get(aligned.span.text)) : null;
    const checked = { ...verdict, claim: claim.original };
    traces.push({
      claim: claim.text,
      similarity: ranked[0]?.similarity ?? 0,
      clauses: clauseScores,
      relevance,
      spanRelevance,
      bestRelevance,
      verdict: checked,
    });
    verdicts.push(checked);
  }

  // Relevance is the answer's: its other sentences may give context, as long as one of them addresses the question.
  if (bestRelevance !== null && traces.length) {
    const own = (t: ClaimTrace): number => Math.max(t.relevance ?? -1, t.spanRelevance ?? -1);
    const best = traces.reduce((a, b) => (own(b) > own(a) ? b : a));
    if (own(best) < bestRelevance - SEMANTIC.relevanceMargin) {
      const reason = `does not address the question: the answer's similarity to it is ${own(best).toFixed(2)}, while the evidence has a sentence at ${bestRelevance.toFixed(2)}`;
      verdicts.forEach((c, i) => {
        if (c.verdict !== 'supported') return;
        verdicts[i] = { ...c, verdict: 'unsupported', confidence: 0.7, reason };
        traces[i]!.verdict = verdicts[i]!;
      });
    }
  }
  for (const t of traces) options.trace?.(t);
  const supported = verdicts.filter((c) => c.verdict === 'supported').length;
  return { claims: verdicts, score: verdicts.length ? supported / verdicts.length : 1 };
}

/**
 * A name of the clause (a code name, an upper-case keyword, a proper name) that the span restating the clause lacks,
 * where that span has a name of the same sort the clause does not use: the clause says the span's statement about
 * another thing ("BOTH searches only the roots" where the span says it of ONLY). Names the question gives are the
 * topic and may go unsaid.
 */
function swappedName(clause: string, window: Window, question: string | undefined): string | null {
  const spanText = window.sentences.map((s) => s.text).join(' ');
  const spanWords = window.sentences.flatMap((s) => s.words);
  const span = { text: spanText, words: spanWords };
  const claimCodes = codeNames(clause);
  const claimNames = nameWords(clause);
  const has = (words: string[]): boolean => findSeq(spanWords, words) >= 0;
  const inClause = (words: string[]): boolean =>
    claimCodes.some((c) => findSeq(c.words, words) >= 0 || findSeq(words, c.words) >= 0) ||
    (words.length === 1 && claimNames.has(words[0]!));
  const given = question ?? '';
  const missing = [
    ...claimCodes.filter((c) => codeAt(c, span) < 0 && !c.pattern.test(given)).map((c) => c.display),
    ...[...claimNames].filter(
      (n) => !has([n]) && !claimCodes.some((c) => c.words.includes(n)) && !new RegExp(`\\b${n}\\b`, 'i').test(given),
    ),
  ];
  if (!missing.length) return null;
  const rivals = [
    ...window.sentences
      .flatMap((s) => s.codes)
      .filter((c) => !inClause(c.words))
      .map((c) => c.display),
    ...window.sentences
      .flatMap((s) => [...s.names])
      .filter((n) => !inClause([n]) && !window.sentences.some((s) => s.codes.some((c) => c.words.includes(n)))),
  ];
  if (!rivals.length) return null;
  return `name \`${missing[0]}\` is not in the span that states this (it names \`${rivals[0]}\`)`;
}

/** Upper-case keywords and values (`ON`, `OFF`, `STATIC`), and file paths (`/usr/local`, `c:/Program Files`). */
const VALUE_RES = [
  /(?<![\p{L}\p{N}_.-])\p{Lu}{2,}(?![\p{L}\p{N}_])/gu,
  /(?<![\p{L}\p{N}_./])(?:\p{L}:)?(?:\/[\p{L}\p{N}_.${}-]+)+\/?(?![\p{L}\p{N}_/])/gu,
];

/**
 * A value the claim quotes (an upper-case keyword or a path) that neither the evidence nor the question contains as
 * a whole: values are copied from the source, so one it never has is made up, however similar the sentence.
 */
function unquotedValue(claim: string, evidence: string, question: string): string | null {
  const normal = (t: string): string => t.normalize('NFKC');
  const source = `${normal(evidence)}\n${normal(question)}`;
  for (const re of VALUE_RES) {
    for (const m of normal(claim).matchAll(re)) {
      const value = m[0].replace(/[.]$/u, '');
      const at = new RegExp(`(?<![\\p{L}\\p{N}_/])${escapeRe(value)}(?![\\p{L}\\p{N}_/])`, 'u');
      if (!at.test(source)) return value;
    }
  }
  return null;
}

/** "Yes, ..." / "No. ..." answer the question; the statement after them is the claim. */
function withoutAnswerWord(text: string): string {
  const rest = text.replace(/^(?:yes|no|not really|correct|right)\b\s*[,.;:—–-]\s*/iu, '');
  return rest.length >= 3 && rest !== text ? rest.charAt(0).toUpperCase() + rest.slice(1) : text;
}

/**
 * A claim's clauses: the parts a second statement can hide in (after a semicolon, ", and", ", while", ", which",
 * ", but", ", so", ", with"). Parts of fewer than 4 words stay with the part before them. One clause: none returned
 * (the claim itself is its only clause).
 */
export function splitClauses(text: string): string[] {
  const boundary = /;\s+|\s+[—–]\s+|,\s+(?=(?:and|while|whereas|which|but|so|with|although|though)\s)/giu;
  const out: string[] = [];
  let from = 0;
  const push = (part: string, separator: string): void => {
    const trimmed = part.trim();
    if (!trimmed) return;
    if (out.length && trimmed.split(/\s+/u).length < 4) out[out.length - 1] += `${separator}${trimmed}`;
    else out.push(trimmed);
  };
  let separator = '';
  for (const m of text.matchAll(boundary)) {
    push(text.slice(from, m.index), separator);
    separator = m[0];
    from = m.index + m[0].length;
  }
  push(text.slice(from), separator);
  return out.length ? out : [text];
}

function spanOf(passage: Passage, sentences: Sentence[]): Span {
  return { window: { passage, sentences }, text: sentences.map((s) => s.text).join(' ') };
}

function dedupe(spans: Span[]): Span[] {
  const seen = new Set<string>();
  return spans.filter((s) => {
    const key = `${s.window.passage.id}:${s.window.sentences.map((x) => x.start).join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function spanText(window: Window): string {
  const first = window.sentences[0];
  const last = window.sentences[window.sentences.length - 1];
  return first && last ? window.passage.text.slice(first.start, last.end) : '';
}

export function resolveCitation(
  n: number,
  evidence: Evidence[],
  mapping: Readonly<Record<number, string>> | undefined,
): string | undefined {
  return mapping?.[n] ?? evidence.find((e) => e.id === String(n))?.id ?? evidence[n - 1]?.id;
}
