import type { OpenAiTestServer, RecordedRequest, Step } from './openai-server';

/** A scripted "model" for answering tests: it reads the prompts the answer workflow sends and answers by kind. */
export type Kind = 'generate' | 'generate_strict' | 'judge' | 'rerank' | 'rewrite' | 'other';
export const messagesOf = (r: RecordedRequest) => (r.body?.messages ?? []) as Array<{ role: string; content: string }>;
export function kindOf(r: RecordedRequest): Kind {
  const system = messagesOf(r)[0]?.content ?? '';
  if (system.startsWith('You answer questions'))
    return system.includes('Be strictly literal') ? 'generate_strict' : 'generate';
  if (system.startsWith('You check whether each claim')) return 'judge';
  if (system.startsWith('Rank the numbered passages')) return 'rerank';
  if (system.startsWith('Rewrite the follow-up')) return 'rewrite';
  return 'other';
}

/** The number of the prompt's passage that contains `needle` (passages are `[n] text` lines). */
export function passageWith(r: RecordedRequest, needle: string): number {
  const user = messagesOf(r).find((m) => m.role === 'user')?.content ?? '';
  const line = user.split('\n').find((l) => /^\[\d+\] /.test(l) && l.includes(needle));
  if (!line) throw new Error(`no passage with "${needle}" in the prompt`);
  return Number(/^\[(\d+)\]/.exec(line)![1]);
}

/**
 * The first passage of an answer prompt: its number and its sentences joined, without the final stop (lines that do
 * not end a sentence, such as headings, left out). For scripted answers built from what retrieval gave.
 */
export function firstPassage(r: RecordedRequest): { n: string; text: string } {
  const user = messagesOf(r).find((m) => m.role === 'user')?.content ?? '';
  const body = user.split('\n\nQuestion:')[0]!.split('Passages:\n')[1] ?? '';
  const first = body.split(/\n(?=\[\d+\] )/)[0]!;
  const sentences = first
    .replace(/^\[\d+\] /, '')
    .split('\n')
    .filter((l) => /[.!?]$/.test(l.trim()));
  return { n: /^\[(\d+)\]/.exec(first)?.[1] ?? '1', text: sentences.join(' ').replace(/[.!?]$/, '') };
}

/** A judge that supports a claim iff one passage contains every number of it and its key words. */
export function scriptedJudge(r: RecordedRequest): Step {
  const user = messagesOf(r).find((m) => m.role === 'user')!.content;
  const passages = [...user.matchAll(/^Passage (\S+): (.*)$/gm)].map((m) => ({ id: m[1]!, text: m[2]! }));
  const claims = [...user.matchAll(/^Claim (\d+): (.*)$/gm)].map((m) => ({ index: Number(m[1]), text: m[2]! }));
  const verdicts = claims.map((c) => {
    const numbers = c.text.match(/\d+(?:\.\d+)?/g) ?? [];
    const p = passages.find(
      (p) =>
        numbers.every((n) => p.text.includes(n)) &&
        c.text
          .split(/\W+/)
          .filter((w) => w.length > 5)
          .every((w) => p.text.toLowerCase().includes(w.toLowerCase())),
    );
    return p
      ? {
          index: c.index,
          verdict: 'supported',
          passage: p.id,
          evidence: p.text.slice(0, 120),
          reason: 'stated by the passage',
        }
      : { index: c.index, verdict: 'unsupported', passage: null, evidence: null, reason: 'no passage states it' };
  });
  return { reply: { content: JSON.stringify({ claims: verdicts }) } };
}

/** A rerank that keeps the passages in the order given. */
export function scriptedRerank(r: RecordedRequest): Step {
  const ns = [...(messagesOf(r)[1]?.content ?? '').matchAll(/^Passage (\d+):/gm)].map((m) => Number(m[1]));
  return { reply: { content: JSON.stringify({ ranking: ns }) } };
}

/**
 * A model for load runs (the benchmarks, the scale-out run): answers any number of requests by what the prompt asks
 * for. A generation quotes its first passage with its [n], the judge supports every claim with the first passage, a
 * rerank keeps the order; anything else gets "ok".
 */
export function scriptedAnswerStep(r: RecordedRequest): Step {
  switch (kindOf(r)) {
    case 'generate':
    case 'generate_strict': {
      const { n, text } = firstPassage(r);
      return { reply: { content: text ? `${text} [${n}].` : 'The documents do not say.' } };
    }
    case 'judge': {
      const user = messagesOf(r).find((m) => m.role === 'user')?.content ?? '';
      const first = /^Passage (\S+): (.*)$/m.exec(user);
      const claims = [...user.matchAll(/^Claim (\d+): /gm)].map((m) => Number(m[1]));
      return {
        reply: {
          content: JSON.stringify({
            claims: claims.map((index) => ({
              index,
              verdict: 'supported',
              passage: first?.[1] ?? '1',
              evidence: (first?.[2] ?? '').slice(0, 120),
              reason: 'stated by the passage',
            })),
          }),
        },
      };
    }
    case 'rerank':
      return scriptedRerank(r);
    default:
      return { reply: { content: 'ok' } };
  }
}

/** Routes every chat request by its kind; `generate` gets the scripted answers in order (the last one repeats). */
export function scriptModel(
  server: OpenAiTestServer,
  answers: {
    generate: Array<(r: RecordedRequest) => string>;
    strict?: Array<(r: RecordedRequest) => string>;
    judgeDelayMs?: (nth: number) => number | undefined;
  },
) {
  const gen = [...answers.generate];
  const strict = [...(answers.strict ?? [])];
  let judged = 0;
  const route = (r: RecordedRequest): Step => {
    switch (kindOf(r)) {
      case 'generate':
        return { reply: { content: (gen.length > 1 ? gen.shift()! : gen[0]!)(r) } };
      case 'generate_strict':
        return { reply: { content: (strict.length > 1 ? strict.shift()! : strict[0]!)(r) } };
      case 'judge':
        judged++;
        return answers.judgeDelayMs?.(judged)
          ? { delayMs: answers.judgeDelayMs(judged)!, then: scriptedJudge(r) }
          : scriptedJudge(r);
      case 'rerank':
        return scriptedRerank(r);
      default:
        return { reply: { content: 'ok' } };
    }
  };
  server.chat.clear();
  server.chat.enqueue(...Array.from({ length: 40 }, () => route));
}
