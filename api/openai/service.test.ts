import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors';
import { openaiError } from '../errors';
import { contentPieces } from '../routes/openai';
import { contentOf, questionAndHistory } from './service';
import { chatCompletionBody } from './spec';

const citation = (n: number, source: string, title: string | null = null, page: number | null = null) => ({
  n,
  chunkId: `c${n}`,
  documentId: `d${n}`,
  collectionId: 'col',
  documentTitle: title,
  source,
  page,
  headingPath: [],
  text: 'passage',
  tokens: 1,
  score: 1,
});

describe('the OpenAI-compatible chat mapping', () => {
  it('takes the last user message as the question and the user and assistant turns before it as history', () => {
    const { question, history } = questionAndHistory([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Tell me about' },
          { type: 'text', text: 'pickle.' },
        ],
      },
      {
        role: 'assistant',
        content: 'It serializes objects [1].\n\nSources:\n[1] pickle.md\n[2] Pickle — json.md (p. 3)',
      },
      { role: 'tool', content: 'ignored' },
      { role: 'assistant', content: null },
      { role: 'user', content: '  Which protocol?  ' },
    ]);
    expect(question).toBe('Which protocol?');
    expect(history).toEqual([
      { role: 'user', content: 'Tell me about\npickle.' },
      { role: 'assistant', content: 'It serializes objects [1].' },
    ]);
  });

  it('keeps the last 12 turns', () => {
    const messages = Array.from({ length: 30 }, (_, i) => ({
      role: i % 2 ? ('assistant' as const) : ('user' as const),
      content: `turn ${i}`,
    }));
    const { history } = questionAndHistory([...messages, { role: 'user', content: 'now?' }]);
    expect(history).toHaveLength(12);
    expect(history[0]!.content).toBe('turn 18');
  });

  it('refuses a last message that is not a user question, and non-text parts, naming the field', () => {
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as AppError;
      }
      throw new Error('not refused');
    };
    const notUser = refusal(() => questionAndHistory([{ role: 'assistant', content: 'Hi' }]));
    expect(notUser).toMatchObject({ code: 'question_required', status: 400 });
    expect(refusal(() => questionAndHistory([{ role: 'user', content: '   ' }]))).toMatchObject({
      code: 'question_required',
    });
    const image = refusal(() =>
      questionAndHistory([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }]),
    );
    expect(image).toMatchObject({ code: 'unsupported_content', status: 400 });
    expect(openaiError(400, { error: { code: image.code, message: image.message, details: image.details } })).toEqual({
      error: {
        message: expect.stringContaining('image_url'),
        type: 'invalid_request_error',
        param: 'messages[0].content[0].type',
        code: 'unsupported_content',
      },
    });
    expect(refusal(() => questionAndHistory([{ role: 'user', content: 'x'.repeat(4001) }]))).toMatchObject({
      code: 'question_too_long',
    });
  });

  it('appends each cited source once, in number order, unless asked not to', () => {
    const result = {
      answer: 'Protocol 5 [2], since 3.8 [1][2].',
      citations: [
        citation(2, 'pickle.md', 'pickle — Python objects', 4),
        citation(1, 'json.md'),
        citation(2, 'pickle.md'),
      ],
    };
    expect(contentOf(result, true)).toBe(
      'Protocol 5 [2], since 3.8 [1][2].\n\nSources:\n[1] json.md\n[2] pickle — Python objects — pickle.md (p. 4)',
    );
    expect(contentOf(result, false)).toBe(result.answer);
    expect(contentOf({ answer: 'The documents do not say.', citations: [] }, true)).toBe('The documents do not say.');
  });

  it('streams content in pieces that join to the same text', () => {
    const text = 'The default  pickle protocol\nis 5 [1].\n\nSources:\n[1] pickle.md';
    const pieces = contentPieces(text);
    expect(pieces.join('')).toBe(text);
    expect(pieces.length).toBeGreaterThan(2);
    expect(contentPieces('')).toEqual([]);
  });

  it('accepts what OpenAI clients send and refuses what it cannot serve', () => {
    const ok = chatCompletionBody.parse({
      model: 'rag/*',
      messages: [{ role: 'user', content: 'Hi' }],
      top_p: 1,
      frequency_penalty: 0,
      stream: null,
      seed: 7,
      tools: [],
    });
    expect(ok.model).toBe('rag/*');
    expect(
      chatCompletionBody.safeParse({ model: 'rag/*', messages: [{ role: 'user', content: 'Hi' }], n: 2 }).success,
    ).toBe(false);
    expect(
      chatCompletionBody.safeParse({
        model: 'rag/*',
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
      }).success,
    ).toBe(false);
    expect(chatCompletionBody.safeParse({ model: 'rag/*', messages: [] }).success).toBe(false);
  });
});

describe('errors in OpenAI’s shape', () => {
  it('maps statuses to OpenAI’s types and keeps the API’s code', () => {
    const shape = (status: number, code: string) => openaiError(status, { error: { code, message: 'm' } }).error.type;
    expect(shape(401, 'unauthorized')).toBe('authentication_error');
    expect(shape(403, 'forbidden')).toBe('permission_error');
    expect(shape(404, 'model_not_found')).toBe('invalid_request_error');
    expect(shape(429, 'rate_limited')).toBe('rate_limit_error');
    expect(shape(429, 'token_quota_exceeded')).toBe('insufficient_quota');
    expect(shape(502, 'answer_failed')).toBe('server_error');
    expect(openaiError(400, { error: { code: 'validation_failed', message: 'm' } }).error).toEqual({
      message: 'm',
      type: 'invalid_request_error',
      param: null,
      code: 'validation_failed',
    });
  });
});
