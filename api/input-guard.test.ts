import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import { checkJson, isValidText, MAX_JSON_DEPTH } from './input-guard';

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a refusal');
};

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

describe('isValidText', () => {
  it.each([
    ['plain', 'hello', true],
    ['a surrogate pair', 'emoji \u{1F600}', true],
    ['other control characters', 'tab\there\u0001', true],
    ['NUL', 'a\u0000b', false],
    ['a lone high surrogate', 'a\uD800', false],
    ['a lone low surrogate', '\uDC00b', false],
    ['two high surrogates', '\uD800\uD800\uDC00', false],
  ])('%s', (_what, s, valid) => expect(isValidText(s)).toBe(valid));
});

describe('checkJson', () => {
  it('accepts ordinary bodies', () => {
    expect(() => checkJson({ name: 'x', list: [1, 'two', { three: null }], ok: true }, 'body')).not.toThrow();
    expect(() => checkJson(undefined, 'body')).not.toThrow();
  });

  it('names the first invalid field in document order, array indexes included', () => {
    const err = refusal(() => checkJson({ a: 'ok', b: [{ c: 'ok' }, { c: 'x\u0000' }], d: 'y\u0000' }, 'body'));
    expect(err).toMatchObject({
      status: 400,
      code: 'invalid_characters',
      details: { in: 'body', path: ['b', 1, 'c'] },
    });
    expect(err.message).toContain('b.1.c');
  });

  it('checks keys too, and escapes them in the message', () => {
    const err = refusal(() => checkJson({ ['k\u0000']: 1 }, 'query'));
    expect(err.details).toEqual({ in: 'query', path: ['k\u0000'] });
    expect(err.message).toContain('k\\u0000');
    expect(err.message).not.toContain('\u0000');
  });

  it(`allows ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1}, without recursion at any depth`, () => {
    expect(() => checkJson(nested(MAX_JSON_DEPTH), 'body')).not.toThrow();
    expect(refusal(() => checkJson(nested(MAX_JSON_DEPTH + 1), 'body'))).toMatchObject({
      code: 'json_too_deep',
      status: 400,
    });
    expect(refusal(() => checkJson(nested(200_000), 'body')).code).toBe('json_too_deep');
  });
});
