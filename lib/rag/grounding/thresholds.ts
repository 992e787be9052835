/** The checker's tuning constants, in one place (measured by bench/eval/grounding-split.ts). */

/** Share of the claim's (weighted) content words a window must hold to support it. */
export const SUPPORT_THRESHOLD = 0.6;
/** Below this coverage a window is about something else: conflicts with it are not contradictions. */
export const TOPIC_THRESHOLD = 0.5;
/** A different number next to the claim's words is a contradiction even in a short, pronoun-led claim. */
export const NUMBER_TOPIC_THRESHOLD = 0.3;
/** Weight of a claim word that no passage uses (other words weigh 1, light ones 0.5). */
export const NOVEL_WEIGHT = 1.75;
/** Credit for a claim word found in the passage but outside the window (the topic, what "it" refers to). */
export const PASSAGE_CREDIT = 0.4;
/** How many top-ranked windows are checked in full. */
export const WINDOWS_CHECKED = 4;

/** The semantic path's constants (cosine similarities of all-MiniLM-L6-v2 unit vectors). */
export const SEMANTIC = {
  /** A span at least this similar to the claim can support it (the guards permitting). */
  support: 0.6,
  /** A span this similar is about the same thing: its conflicts with the claim are contradictions. */
  topic: 0.5,
  /** Most similar sentences per claim; each is also tried with its neighbours. */
  sentencesChecked: 3,
  /** Windows checked in full, most similar first. */
  windowsChecked: 4,
  /** Similarity added to the windows of the passages the claim cites when ordering them. */
  citedBonus: 0.05,
  /** A clause is stated by a span when its similarity + coverageWeight × its word coverage reaches clauseSupport. */
  coverageWeight: 1,
  clauseSupport: 0.6,
  /** A claim this much less like the question than the evidence's best sentence does not address the question. */
  relevanceMargin: 0.15,
};
