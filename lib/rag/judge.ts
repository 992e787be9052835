import { z } from 'zod';
import type { ClaimVerdict } from '../contracts';
import type { ChatMessage, ResponseFormat } from '../llm/types';
import { JUDGE_RULES } from '../prompts/defaults';
import { openAiSchema, passageText } from './prompt';

/** The LLM judge's structured output: one verdict per claim, with the passage and the exact span that decides. */
const judgeOutput = z.strictObject({
  claims: z.array(
    z.strictObject({
      index: z.number(),
      verdict: z.enum(['supported', 'contradicted', 'unsupported']),
      passage: z.string().nullable(),
      evidence: z.string().nullable(),
      reason: z.string(),
    }),
  ),
});

export const JUDGE_RESPONSE_FORMAT: ResponseFormat = {
  type: 'json_schema',
  name: 'grounding_verdicts',
  strict: true,
  schema: openAiSchema(judgeOutput),
};

/** `system` replaces the shipped judge rules (the judge prompt a run resolved). */
export function buildJudgeMessages(
  claims: string[],
  passages: Array<{ id: string; text: string }>,
  system: string = JUDGE_RULES,
): ChatMessage[] {
  return [
    { role: 'system', content: system },
    {
      role: 'user',
      content: `Passages:\n${passages.map((p) => `Passage ${p.id}: ${passageText(p.text)}`).join('\n')}\n\nClaims:\n${claims.map((c, i) => `Claim ${i}: ${c}`).join('\n')}`,
    },
  ];
}

export class JudgeOutputError extends Error {}

/** The judge's verdicts, one per claim in order; a claim the judge skipped counts as unsupported. */
export function parseJudgeOutput(text: string, claims: string[], passageIds: string[]): ClaimVerdict[] {
  let parsed;
  try {
    parsed = judgeOutput.parse(JSON.parse(text.replace(/^```(?:json)?\s*|\s*```$/g, '')));
  } catch (e) {
    throw new JudgeOutputError(`The judge's output is not the expected JSON: ${(e as Error).message.slice(0, 200)}`);
  }
  return claims.map((claim, index) => {
    const v = parsed.claims.find((c) => c.index === index);
    if (!v)
      return {
        claim,
        verdict: 'unsupported',
        confidence: 0.5,
        evidence: null,
        reason: 'the judge gave no verdict for this claim',
      };
    const id =
      v.passage && passageIds.includes(v.passage.replace(/^passage\s*/i, '').trim())
        ? v.passage.replace(/^passage\s*/i, '').trim()
        : null;
    return {
      claim,
      verdict: v.verdict,
      confidence: 0.9,
      evidence: id && v.evidence ? { id, span: v.evidence } : null,
      reason: v.reason,
    };
  });
}
