/**
 * The offline grounding checkers: the gate that decides, without an LLM judge, whether each claim of an answer is
 * supported by the source passages. `checkAnswer` is the entry point: semantic when it is given a sentence encoder
 * whose model loads (the local provider's all-MiniLM-L6-v2), lexical otherwise; it never fails because the model is
 * missing, and `method` says which one decided. Both are deterministic: the same input gives the same verdicts.
 *
 * Semantic (./semantic.ts), per claim (a leading "Yes," / "No." is taken as the answer word, not the statement):
 *  1. Alignment: the claim, each of its clauses (split after a semicolon or ", and / while / which / but / so /
 *     with") and every evidence sentence are encoded; the spans a text may be stated in are its 3 most similar
 *     sentences, each alone and with each neighbour. The claim's spans are checked most similar first (cited
 *     passages get a small bonus); the first that passes supports it, a conflict in the most similar one decides.
 *  2. Guards on the span (what embeddings do not see; ./check-window.ts `guardWindow`, reused from the lexical
 *     checker): numbers and versions exactly and in the same role; code names present (or given by the question) and
 *     not swapped for another of the span in that role; proper names and upper-case keywords in the span itself, not
 *     replaced by another in their role; months; a plain word naming something of a category ("the forkserver start
 *     method") where the span names another; values bound the other way round; polarity (negation, antonyms,
 *     negative prefixes). Then, per clause: its names are in the span that states it, unless that span names
 *     something else instead (a swap between two names of one sentence); upper-case values (`ON`, `OFF`) and paths
 *     the claim quotes are in the evidence or the question; a negation or restriction word ("not", "unless", "only")
 *     of the clause has one of its class in the span, and a claim that restates most of its span does not state
 *     plainly what the span negates or restricts ("only used by" → "used by all") (./logic-words.ts).
 *  3. Unmentioned content: every clause must be stated by some span: similarity + its word coverage >= 0.6
 *     (./thresholds.ts `SEMANTIC`). A clause the evidence never states ("...; it also sends an email") fails.
 *  4. Relevance, with the question (the answer's, so that sentences giving context pass beside one that answers): when
 *     the answer's claims (or their spans) are all more than 0.15 less similar to the question than the evidence
 *     sentence most like it, the evidence answers the question elsewhere: every claim is `unsupported`, "does not
 *     address the question".
 *  The lexical checker's modal rule ("must" where the evidence says "may") is left out: it changed nothing measured.
 *
 * Lexical (`checkAnswerDeterministic`, ./windows.ts): sentence windows ranked by how much of the claim's content
 * words they hold (stemmed, synonyms from a small table, words the evidence never uses weighing more); a window
 * supports when it holds >= 60% of them and the same guards pass. No relevance check.
 *
 * Measured (bench/eval/grounding-split.ts, and bench/eval on the CMake set): on the dev half of the CMake 3.25 set
 * balanced accuracy 0.70 semantic, 0.53 lexical, 0.60 word overlap with a threshold fitted on it.
 * Known limits: MiniLM sees topic more than truth, so a clause that adds a plausible detail on the same topic
 * ("reversed sorts also use more memory") can pass; role swaps between two names of one sentence are found only when
 * the clause aligns with a different sentence; antonyms outside the table ("ignores" / "honors") and yes/no answers
 * that contradict the question are not recognised; relevance is relative to the best evidence sentence, so an answer
 * from evidence that holds nothing closer to the question passes. An NLI model would address the first and the last
 * two; none ships in a package yet.
 */
import type { ClaimVerdict } from '../../contracts';
import type { SentenceEncoder } from '../../llm/encoder';
import { citationNumbers, cleanClaimText, splitClaims } from '../claims';
import { indexEvidence, type Evidence } from './evidence';
import { checkAnswerSemantic, resolveCitation, type SemanticCheckOptions } from './semantic';
import { checkClaimWithIndex } from './windows';

export type { ClaimVerdict, Verdict } from '../../contracts';
export type { Evidence } from './evidence';
export { SUPPORT_THRESHOLD } from './thresholds';

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

export interface CheckAnswerOptions extends AnswerCheckOptions {
  /** The question the answer answers: claims that do not address it are not support. */
  question?: string;
  /** The semantic model; without it (or when it cannot load) the lexical checker decides. */
  encoder?: SentenceEncoder | null;
  signal?: AbortSignal;
  /** Bench only: guards to leave out, and per-claim measurements. */
  skip?: SemanticCheckOptions['skip'];
  trace?: SemanticCheckOptions['trace'];
}

export interface AnswerCheck {
  claims: ClaimVerdict[];
  /** Supported share of the claims (1 when there are none). */
  score: number;
  method: 'semantic' | 'lexical';
}

/**
 * The grounding gate's offline checker: semantic when an encoder is given and its model loads, lexical otherwise.
 * Never fails because the model is missing; an aborted signal still rejects.
 */
export async function checkAnswer(
  answer: string,
  evidence: Evidence[],
  options: CheckAnswerOptions = {},
): Promise<AnswerCheck> {
  const { encoder, signal } = options;
  if (encoder && encoder.available !== false) {
    try {
      return { ...(await checkAnswerSemantic(answer, evidence, encoder, options)), method: 'semantic' };
    } catch (e) {
      // The model missing (LocalModelUnavailable) or failing to run: the lexical checker still gates, and
      // `method` says which one did.
      if (signal?.aborted) throw e;
    }
  }
  return { ...checkAnswerDeterministic(answer, evidence, options), method: 'lexical' };
}

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
