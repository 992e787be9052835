import type { HistoryMessage } from '../contracts';
import type { ChatMessage } from '../llm/types';
import { contentTerms, normalizeText, STOPWORDS, tokenizeWords } from '../llm/text';
import { REWRITE_RULES } from '../prompts/defaults';

/** Turns kept for rewriting: enough for "and its default?" to find what "it" is. */
export const REWRITE_HISTORY_TURNS = 6;

/** `system` replaces the shipped rewrite rules (the rewrite prompt a run resolved). */
export function buildRewriteMessages(
  history: HistoryMessage[],
  question: string,
  system: string = REWRITE_RULES,
): ChatMessage[] {
  const turns = history
    .slice(-REWRITE_HISTORY_TURNS)
    .map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content.replace(/\s+/g, ' ').trim()}`);
  return [
    { role: 'system', content: system },
    { role: 'user', content: `Conversation:\n${turns.join('\n')}\n\nFollow-up: ${question.trim()}` },
  ];
}

const REFERRING = new Set([
  'it',
  'its',
  'they',
  'them',
  'their',
  'this',
  'that',
  'these',
  'those',
  'there',
  'he',
  'she',
  'his',
  'her',
  'one',
  'ones',
]);

/**
 * The offline rewrite (no model): a follow-up that refers back ("what is its default?", "and for lists?") or is too
 * short to stand alone gets the content words of the previous user question that it lacks, appended in parentheses.
 * Retrieval then finds the same subject; the wording the user sees stays theirs.
 */
export function rewriteDeterministic(history: HistoryMessage[], question: string): string {
  const previous = [...history].reverse().find((m) => m.role === 'user');
  if (!previous) return question.trim();
  const words = tokenizeWords(normalizeText(question));
  const content = words.filter((w) => !STOPWORDS.has(w));
  const refers =
    words.some((w) => REFERRING.has(w)) ||
    content.length <= 3 ||
    /^(and|what about|how about|also)\b/i.test(question.trim());
  if (!refers) return question.trim();
  const have = new Set(contentTerms(question));
  const seen = new Set<string>();
  const carried = tokenizeWords(normalizeText(previous.content)).filter((w) => {
    if (STOPWORDS.has(w) || REFERRING.has(w)) return false;
    const s = contentTerms(w)[0];
    if (!s || have.has(s) || seen.has(s)) return false;
    seen.add(s);
    return true;
  });
  return carried.length ? `${question.trim()} (${carried.join(' ')})` : question.trim();
}
