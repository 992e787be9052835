import { z } from 'zod';
import type { ContextPassage } from '../contracts';
import type { ChatMessage, ResponseFormat } from '../llm/types';
import { RERANK_RULES } from '../prompts/defaults';
import { openAiSchema, passageText } from './prompt';

const rerankOutput = z.strictObject({ ranking: z.array(z.number()) });

export const RERANK_RESPONSE_FORMAT: ResponseFormat = {
  type: 'json_schema',
  name: 'passage_ranking',
  strict: true,
  schema: openAiSchema(rerankOutput),
};

/** `system` replaces the shipped rerank rules (the rerank prompt a run resolved). */
export function buildRerankMessages(
  question: string,
  passages: ContextPassage[],
  system: string = RERANK_RULES,
): ChatMessage[] {
  return [
    { role: 'system', content: system },
    {
      role: 'user',
      content: `Question: ${question}\n\n${passages.map((p) => `Passage ${p.n}: ${passageText(p.text)}`).join('\n')}`,
    },
  ];
}

/**
 * The passages in the model's order, renumbered 1..n. Numbers the model invented are ignored and passages it left
 * out keep their retrieval order after the ranked ones, so a sloppy ranking never loses context. Null when the
 * output is not a ranking at all.
 */
export function applyRanking(text: string, passages: ContextPassage[]): ContextPassage[] | null {
  let ranking: number[];
  try {
    ranking = rerankOutput.parse(JSON.parse(text.replace(/^```(?:json)?\s*|\s*```$/g, ''))).ranking;
  } catch {
    return null;
  }
  const byN = new Map(passages.map((p) => [p.n, p]));
  const ordered: ContextPassage[] = [];
  for (const n of ranking) {
    const p = byN.get(n);
    if (p && !ordered.includes(p)) ordered.push(p);
  }
  for (const p of passages) if (!ordered.includes(p)) ordered.push(p);
  return ordered.map((p, i) => ({ ...p, n: i + 1 }));
}
