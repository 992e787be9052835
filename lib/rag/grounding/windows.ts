/**
 * Which windows of the passages are checked for a claim, in which order, and whose verdict stands: the cited passages
 * first, then all of them; every sentence, adjacent pair and best complement, ranked by coverage.
 */
import type { ClaimVerdict } from '../../contracts';
import { analyseClaim, type ClaimAnalysis } from './claim-analysis';
import {
  checkWindow,
  numberEquals,
  numberShape,
  round,
  termCoverage,
  type Window,
  type WindowResult,
} from './check-window';
import type { EvidenceIndex, Passage, Sentence } from './evidence';
import { codeAt } from './names';
import { WINDOWS_CHECKED } from './thresholds';

export function checkClaimWithIndex(text: string, index: EvidenceIndex, citedIds: string[]): ClaimVerdict {
  const claim = analyseClaim(text, index);
  if (!claim.terms.length && !claim.numbers.length && !claim.codes.length) {
    return {
      claim: text,
      verdict: 'unsupported',
      confidence: 0.5,
      evidence: null,
      reason: 'no content words to check',
    };
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
  return {
    claim: text,
    verdict: 'unsupported',
    confidence: 0.9,
    evidence: null,
    reason: 'no evidence passage to check against',
  };
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
      if (score > (singles[best] ?? 0) && (!complement || score > complement.score))
        complement = { window: { passage, sentences: pair }, score };
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
    return {
      claim: claim.text,
      verdict: 'unsupported',
      confidence: 0.9,
      evidence: null,
      reason: 'no passage mentions the claim',
    };
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
