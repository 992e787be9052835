/**
 * A sentence encoder: short texts in, L2-normalised vectors out (so cosine similarity is the dot product). The
 * offline pieces that need meaning rather than shared words use it: the extractive answerer (which sentences answer
 * the question) and the grounding checker (which evidence span states a claim, and whether a claim answers the
 * question). The local provider's semantic model (all-MiniLM-L6-v2, ./providers/minilm.ts) is the one there is.
 *
 * `encode` rejects with `LocalModelUnavailable` (./local-models.ts) when the model's files cannot be had; callers
 * fall back to their lexical path then, and say so in what they return.
 */
export interface SentenceEncoder {
  /** The model that encodes, e.g. `local-minilm-l6`. */
  readonly model: string;
  readonly dimensions: number;
  /** One unit vector per text, in order. */
  encode(texts: string[], signal?: AbortSignal): Promise<number[][]>;
  /** True once the model loaded; false when it is known to be unavailable; null before the first attempt. */
  readonly available: boolean | null;
}

/** The dot product of two unit vectors: their cosine similarity. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
