/** Polarity: a claim word the passage states negated, or states its opposite (antonym, negative prefix). */
import type { ClaimAnalysis } from './claim-analysis';
import type { Sentence } from './evidence';
import { ANTONYMS, NEGATIVE_PREFIXES, SYNONYMS, type Token } from './lexicon';

/**
 * A polarity conflict between the claim and the passage: for a claim word, the passage's sentences that state it
 * with the claim's polarity are compared with those that state it negated (or state its opposite); when the best of
 * the latter shares more of the claim's other words than any of the former, the passage says the opposite.
 */
export function polarityConflict(claim: ClaimAnalysis, sentences: Sentence[], window: Sentence[]): string | null {
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
      else if (same === false && (!disagree || overlap > disagree.overlap))
        disagree = { overlap, sentence: s, opposite };
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
