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
 *     - enough of the claim's content words are in it (stemmed, see ../../llm/text.ts; inflections, British/American
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
import type { ClaimVerdict } from '../../contracts';
import { citationNumbers, cleanClaimText, splitClaims } from '../claims';
import { indexEvidence, type Evidence } from './evidence';
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
