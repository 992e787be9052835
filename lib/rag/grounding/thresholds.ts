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
