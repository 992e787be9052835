import { z } from 'zod';
import type { ChatMessage } from '../llm/types';
import { NO_ANSWER_TEXT } from '../llm/providers/local';
import { ANSWER_RULES, STRICT_RULES } from '../prompts/defaults';

export { NO_ANSWER_TEXT };

/** A context passage as the model sees it: `[n] text`, with its source described apart. */
export interface Passage {
  n: number;
  text: string;
  title?: string | null;
  headingPath?: string[];
  page?: number | null;
}

/**
 * Passage text in the `[n] ` line convention (lib/llm/providers/local.ts reads it back): one passage has no blank
 * line inside it, and none of its lines may look like the start of another passage or of the question.
 */
export function passageText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/^(\s*)\[(\d+)\] /, '$1[$2]: ').replace(/^(\s*)(question)(\s*):/i, '$1$2$3 -'))
    .filter((line) => line.trim())
    .join('\n');
}

function describeSource(p: Passage): string {
  const parts = [p.title, ...(p.headingPath ?? [])].filter((s): s is string => !!s && !!s.trim());
  const where = parts.length ? parts.join(' › ') : 'untitled';
  return p.page != null ? `${where}, page ${p.page}` : where;
}

/**
 * The messages of an answering call: rules, the passages with where they come from, the question. `system` replaces
 * the shipped rules (the answer or answer_strict prompt a run resolved).
 */
export function buildAnswerMessages(input: {
  question: string;
  passages: Passage[];
  strict?: boolean;
  system?: string;
}): ChatMessage[] {
  const sources = input.passages.map((p) => `Source ${p.n}: ${describeSource(p)}`).join('\n');
  const passages = input.passages.map((p) => `[${p.n}] ${passageText(p.text)}`).join('\n');
  return [
    { role: 'system', content: input.system ?? (input.strict ? STRICT_RULES : ANSWER_RULES) },
    {
      role: 'user',
      content: `${sources}\n\nPassages:\n${passages}\n\nQuestion: ${input.question.replace(/\s+/g, ' ').trim()}\nAnswer:`,
    },
  ];
}

/** The `[n]` citation numbers of an answer in order of first appearance (`[1, 2]` and `[1][2]` both count). */
export function citedNumbers(answer: string): number[] {
  const seen: number[] = [];
  for (const m of answer.matchAll(/\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]/g)) {
    for (const n of m[1]!.split(',').map((s) => Number(s.trim()))) if (n > 0 && !seen.includes(n)) seen.push(n);
  }
  return seen;
}

/**
 * True when the answer is an abstention: the abstention text, whatever its surrounding punctuation, optionally followed
 * by what the local provider adds after it (the passages it considered, one line each).
 */
export function isAbstention(answer: string): boolean {
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z ]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
  const first = answer.trim().split(/\r?\n/, 1)[0] ?? '';
  return norm(first) === norm(NO_ANSWER_TEXT) || norm(answer).startsWith('the documents do not say');
}

/** A zod schema as OpenAI's strict structured outputs accept it (draft-7 subset, no `$schema`, no numeric bounds). */
export function openAiSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7' }) as Record<string, unknown>;
  return rest;
}
