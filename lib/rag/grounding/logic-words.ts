/**
 * Function words that turn what a sentence asserts around rather than change what it is about: negation and
 * restriction ("only"). Embeddings barely register them ("is used" and "is not used" are near neighbours), so a claim
 * that uses one whose class its evidence span never uses asserts something the span does not; and a claim that
 * states what the span negates or restricts ("used by all download methods" for "only used by the URL download
 * method"), without any word of that class, drops it. A closed class of English, not a domain list. Universal words
 * ("all", "any", "every") are left out: paraphrases add them freely.
 */
import { isContent, tokenize, type Token } from './lexicon';

const CLASSES: Record<string, readonly string[]> = {
  negative: `not no never none nothing neither nor without cannot cant dont doesnt didnt isnt arent wasnt werent wont
    wouldnt couldnt shouldnt hasnt havent hadnt mustnt neednt unless except otherwise nobody nowhere`.split(/\s+/),
  restrictive: ['only', 'solely', 'exclusively', 'just', 'merely'],
};
/** Idioms that contain such a word without its meaning. */
const IDIOMS = /\b(?:no matter|not only|just as|just like|nothing but|no longer)\b/giu;

const CLASS_OF = new Map<string, string>();
for (const [cls, words] of Object.entries(CLASSES)) for (const w of words) CLASS_OF.set(w, cls);

/** Logic words of lower-case tokens; upper-case ones (`ONLY`, `ALL`) are values of the tool, not logic. */
function logicWords(tokens: readonly Token[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of tokens) {
    const cls = CLASS_OF.get(t.word);
    if (cls && t.cased === t.cased.toLowerCase() && !out.has(cls)) out.set(cls, t.word);
  }
  return out;
}

/** The first logic word of the claim whose class the evidence span lacks, or null. */
export function unmatchedLogicWord(claim: string, span: string): string | null {
  const have = logicWords(tokenize(span.replace(IDIOMS, ' ')));
  for (const [cls, word] of logicWords(tokenize(claim.replace(IDIOMS, ' ')))) if (!have.has(cls)) return word;
  return null;
}

/** Share of the span's content words a claim must use to be a restatement of it. */
const RESTATED = 0.5;

/** The first content word within this many tokens after a logic word is what it negates or restricts. */
const SCOPE = 3;

/**
 * A logic word of the span whose class the claim lacks, while the claim states a word in its scope ("not introduce",
 * "only used"): the claim says plainly what the span negates or restricts. Returned with that word, or null.
 */
export function droppedLogicWord(claim: string, span: string): string | null {
  const claimTokens = tokenize(claim.replace(IDIOMS, ' '));
  const have = logicWords(claimTokens);
  const stems = new Set(claimTokens.filter(isContent).map((t) => t.stem));
  const tokens = tokenize(span.replace(IDIOMS, ' '));
  // Only a claim that restates the span (most of its words) can be said to drop what the span negates: a claim about
  // one part of a longer span says nothing about the rest.
  const spanStems = new Set(tokens.filter(isContent).map((t) => t.stem));
  const restated = [...spanStems].filter((st) => stems.has(st)).length;
  if (!spanStems.size || restated < RESTATED * spanStems.size) return null;
  for (const [i, t] of tokens.entries()) {
    const cls = CLASS_OF.get(t.word);
    if (!cls || have.has(cls) || t.cased !== t.cased.toLowerCase()) continue;
    const scope = tokens.slice(i + 1, i + 1 + SCOPE).find(isContent);
    if (scope && stems.has(scope.stem)) return `${t.word} ${scope.word}`;
  }
  return null;
}
