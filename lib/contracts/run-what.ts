import type { RunKind } from './runs';

/** The longest `what` memo a run carries: one line in a list, not a copy of the input. */
export const RUN_WHAT_MAX = 200;

/** The memo key every run's short description is stored under (Temporal memo, read by GET /v1/runs). */
export const RUN_WHAT_MEMO = 'what';

/** One line of at most RUN_WHAT_MAX characters: whitespace collapsed, an ellipsis where it was cut. */
export function clipWhat(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= RUN_WHAT_MAX ? line : `${line.slice(0, RUN_WHAT_MAX - 1).trimEnd()}…`;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The text of the last user message of a chat-shaped input (`messages: [{role, content}]`). */
function lastUserText(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m && m.role === 'user') {
      if (typeof m.content === 'string') return str(m.content);
      if (Array.isArray(m.content)) {
        const text = m.content
          .map((p: unknown) => (p && typeof p === 'object' ? (p as { text?: unknown }).text : undefined))
          .filter((t): t is string => typeof t === 'string')
          .join(' ');
        return str(text);
      }
    }
  }
  return undefined;
}

export interface DescribeRunContext {
  /** A collection's name, when the caller knows it (ingest: "3 documents → Handbook"). */
  collectionName?: string;
}

/**
 * What a run is about, in one short line: the question of an answer, the query of a search, the goal of an agent,
 * the documents and collection of an ingest, the start of a completion's prompt. Derived from the run's kind and
 * its workflow arguments (the first argument is the input object of every workflow here); null when the input says
 * nothing useful.
 */
export function describeRun(kind: RunKind, args: readonly unknown[], context: DescribeRunContext = {}): string | null {
  const input = (args[0] && typeof args[0] === 'object' ? args[0] : {}) as Record<string, unknown>;
  let text: string | undefined;
  switch (kind) {
    case 'answer':
      text = str(input.question);
      break;
    case 'search':
      text = str(input.query);
      break;
    case 'grounding':
      text = str(input.question) ?? (str(input.answer) && `check: ${input.answer as string}`);
      break;
    case 'agent':
      text = str(input.goal);
      break;
    case 'llm':
      text = lastUserText(input.messages) ?? str(input.prompt);
      break;
    case 'ingest': {
      const target = context.collectionName ?? str(input.collectionId);
      const ids = Array.isArray(input.documentIds) ? input.documentIds : undefined;
      const what = str(input.url) ?? str(input.file) ?? (ids ? plural(ids.length, 'document') : undefined);
      text = what && target ? `${what} → ${target}` : (what ?? target);
      break;
    }
    case 'system': {
      const probes = typeof input.probes === 'number' ? plural(input.probes, 'probe') : undefined;
      text = [probes && `self-test: ${probes}`, str(input.note)].filter(Boolean).join(' — ') || undefined;
      break;
    }
    case 'batch':
      text = str(input.name) ?? (Array.isArray(input.items) ? plural(input.items.length, 'item') : undefined);
      break;
    case 'eval':
    case 'replay':
      text =
        str(input.name) ??
        (Array.isArray(input.answerIds) ? `replay of ${plural(input.answerIds.length, 'answer')}` : undefined);
      break;
  }
  return text ? clipWhat(text) : null;
}
