/**
 * The verdict of one window (a sentence or two of a passage) on a claim: coverage of its words, then its numbers,
 * code names, months, category names, bindings, polarity and modals; the first conflict found decides.
 */
import type { Verdict } from '../../contracts';
import { contextStems, roleScore, type ClaimAnalysis, type ClaimTerm } from './claim-analysis';
import type { Passage, Sentence } from './evidence';
import { STRONG_MODALS, WEAK_MODALS, isContent, stemMatch, stemWord, tokenize, type Token } from './lexicon';
import { codeAt, dottedPartsIn, findSeq, type Anchor } from './names';
import { polarityConflict } from './polarity';
import { NUMBER_TOPIC_THRESHOLD, PASSAGE_CREDIT, SUPPORT_THRESHOLD, TOPIC_THRESHOLD } from './thresholds';

export interface Window {
  passage: Passage;
  sentences: Sentence[];
}

export interface WindowResult {
  verdict: Verdict;
  /** The window says something else (a conflict), rather than lacking something: no other window may overrule it. */
  decisive: boolean;
  confidence: number;
  reason: string;
  coverage: number;
}

export function termCoverage(
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
export function numberShape(value: string): string {
  if (/^(?:1[5-9]|20)\d\d$/.test(value)) return 'year';
  const parts = value.split('.').length;
  return parts > 1 ? `dotted:${parts}` : 'int';
}

/** The same quantity: the same number, and the same unit when both give one. */
function sameQuantity(n: { value: string; unit?: { id: string } }, t: Token): boolean {
  return numberEquals(n.value, t.num) && (!n.unit || !t.unit || n.unit.id === t.unit.id);
}

const quantity = (value: string, unit?: { text: string }): string => (unit ? `${value} ${unit.text}` : value);

export function numberEquals(claimValue: string, evidenceValue: string | undefined): boolean {
  if (evidenceValue === undefined) return false;
  // A claim may be less precise than the evidence (3.11 for 3.11.4), never more.
  return evidenceValue === claimValue || evidenceValue.startsWith(`${claimValue}.`);
}

/** The lexical guards, each of which the semantic path can switch off (bench ablations). */
export type Guard =
  'numbers' | 'codes' | 'months' | 'category' | 'names' | 'binding' | 'polarity' | 'modals' | 'logic' | 'values';

export function checkWindow(claim: ClaimAnalysis, window: Window): WindowResult {
  const { coverage, missing, matched } = termCoverage(claim, window.sentences, window.passage);
  const conflict = guardWindow(claim, window, { coverage, matched });
  if (conflict) return conflict;
  if (coverage < SUPPORT_THRESHOLD) {
    const list = missing
      .slice(0, 4)
      .map((t) => t.word)
      .join(', ');
    return {
      verdict: 'unsupported',
      decisive: false,
      confidence: round(0.5 + (0.5 * (SUPPORT_THRESHOLD - coverage)) / SUPPORT_THRESHOLD),
      reason: `only ${Math.round(coverage * 100)}% of the claim's content words are in the evidence${list ? ` (missing: ${list})` : ''}`,
      coverage,
    };
  }
  const checked = [claim.numbers.length ? 'numbers' : '', claim.codes.length || claim.names.size ? 'names' : ''].filter(
    Boolean,
  );
  return {
    verdict: 'supported',
    decisive: true,
    confidence: round(0.5 + 0.5 * coverage),
    reason: `${Math.round(coverage * 100)}% of the claim's content words in the evidence${checked.length ? `, ${checked.join(' and ')} match` : ''}`,
    coverage,
  };
}

/**
 * What the window says against the claim, whatever its wording: a different number in the claim's role, a code name
 * missing or swapped, another month, a name of the same category or a proper name in its place, values bound the
 * other way round, the opposite polarity, an overstated modal. Null when nothing conflicts. `coverage` (how much of
 * the claim the window words) only decides whether a conflict is a contradiction or a lack.
 */
export function guardWindow(
  claim: ClaimAnalysis,
  window: Window,
  lexical: {
    coverage: number;
    matched: Map<string, number>;
    /** The question: code names it gives may be restated without the evidence naming them. */
    given?: string;
    /** Proper names must be in the window itself, not only elsewhere in the passage. */
    strictNames?: boolean;
    /** A number written as a word with no rival number in the window is a count, not a figure to find. */
    spelledCounts?: boolean;
  },
  skip: ReadonlySet<Guard> = new Set(),
): WindowResult | null {
  const { sentences, passage } = window;
  const { coverage, matched, given, strictNames = false, spelledCounts = false } = lexical;
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
  for (const n of skip.has('numbers') ? [] : claim.numbers) {
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
      if (n.spelled && spelledCounts) continue;
      return unsupported(`number ${said} not in evidence`, 0.85);
    }
    if (other && other.score >= 2.5 && other.score > own + 1.5) {
      return conflict(`number ${said} is not what the evidence says here (evidence says ${other.value})`, 0.75);
    }
  }

  // Code names: in the passage, and not swapped for another name of the window. Missing names first, so that a
  // replaced name is blamed rather than a correct one next to it.
  const codeChecks = (skip.has('codes') ? [] : claim.codes).map((c) => {
    let own = -1;
    for (const s of sentences) {
      const at = codeAt(c, s);
      if (at >= 0) own = Math.max(own, roleScore(c.context, s.tokens, at, c.words.length));
    }
    // A name the question gives is the topic the answer restates, not something it adds.
    const inPassage =
      own >= 0 || codeAt(c, passage) >= 0 || dottedPartsIn(c, passage) || (!!given && c.pattern.test(given));
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
      const sameSort = passage.sentences.some((s) =>
        s.codes.some((o) => o.kind === c.kind && !claim.codes.some((k) => k.display === o.display)),
      );
      if (!sameSort) continue;
    }
    if (!inPassage) {
      return unsupported(
        `name \`${c.display}\` not in evidence${rival ? ` (evidence has \`${rival.display}\`)` : ''}`,
        0.85,
      );
    }
  }
  for (const { c, own, rival } of codeChecks) {
    // A name that is present is only called swapped when another one clearly holds its place.
    const margin = own >= 0 ? 2 : 1;
    if (rival && rival.score >= margin + 1 && rival.score > Math.max(own, 0) + margin) {
      return unsupported(
        `name \`${c.display}\` is not what the evidence names here (evidence has \`${rival.display}\`)`,
        0.7,
        true,
      );
    }
  }

  // Months: another month is a different date.
  for (const m of skip.has('months') ? [] : claim.months) {
    if (sentences.some((s) => s.months.has(m))) continue;
    const other = sentences.flatMap((s) => [...s.months])[0];
    if (other) return conflict(`date: claim says ${m}, evidence says ${other}`, 0.8);
    return unsupported(`date (${m}) not in evidence`);
  }

  const named = skip.has('category') ? null : categorySwap(claim, sentences);
  if (named) return unsupported(named, 0.75, true);

  // Proper names missing while the window names someone or something else in that role: a swapped name.
  for (const name of skip.has('names') ? [] : claim.names) {
    // Said in the window itself: elsewhere in the passage it may name something else in this role.
    const inWindow = sentences.some((s) => s.names.has(name) || s.stems.has(stemWord(name)));
    if (inWindow || (matched.has(stemWord(name)) && !strictNames) || claim.codes.some((c) => c.words.includes(name)))
      continue;
    const context = contextStems(
      claim.tokens,
      Math.max(
        0,
        claim.tokens.findIndex((t) => t.word === name),
      ),
    );
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

  for (const s of skip.has('binding') ? [] : sentences) {
    const swap = bindingSwap(claim, s);
    if (swap) return unsupported(swap, 0.75, true);
  }

  const polarity = skip.has('polarity') ? null : polarityConflict(claim, passage.sentences, sentences);
  if (polarity) return conflict(polarity, 0.75);

  // Overstatement: "must"/"always" where the evidence only says "may"/"can".
  const strong = skip.has('modals') ? undefined : claim.tokens.find((t) => STRONG_MODALS.has(t.word));
  if (strong) {
    const words = new Set(sentences.flatMap((s) => s.words));
    const weak = [...WEAK_MODALS].find((w) => words.has(w));
    if (weak && ![...STRONG_MODALS].some((w) => words.has(w)) && !words.has('required')) {
      return unsupported(`the claim says "${strong.word}", the evidence only "${weak}"`, 0.7, true);
    }
  }

  return null;
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
      if (claim.anchors.some((o) => o !== b && o.kind === b.kind && Math.abs(o.at - a.at) <= Math.abs(offset)))
        continue;
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

export function round(x: number): number {
  return Math.round(Math.min(1, Math.max(0, x)) * 100) / 100;
}
