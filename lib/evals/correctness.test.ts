import { describe, expect, it } from 'vitest';
import {
  buildCorrectnessMessages,
  CORRECTNESS_RESPONSE_FORMAT,
  CorrectnessOutputError,
  parseCorrectness,
} from './correctness';

describe('correctness judge', () => {
  it('asks with the rules, then the question, the expected answer and the answer as data', () => {
    const messages = buildCorrectnessMessages(' Which port? ', 'Port 8080.', 'It listens on 8080 [1].');
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[0]!.content).toContain('"score"');
    expect(messages[1]!.content).toBe(
      'Question:\nWhich port?\n\nExpected answer:\nPort 8080.\n\nAnswer to grade:\nIt listens on 8080 [1].',
    );
  });

  it('asks for a strict JSON schema of reason and score', () => {
    expect(CORRECTNESS_RESPONSE_FORMAT).toMatchObject({
      type: 'json_schema',
      name: 'answer_correctness',
      strict: true,
    });
    const schema = (CORRECTNESS_RESPONSE_FORMAT as { schema: Record<string, unknown> }).schema;
    expect(schema).toMatchObject({
      type: 'object',
      properties: { reason: { type: 'string' }, score: { type: 'number' } },
      required: ['reason', 'score'],
      additionalProperties: false,
    });
  });

  it('parses the score and reason, also inside a code fence', () => {
    expect(parseCorrectness('{"reason": "same port", "score": 1}')).toEqual({ score: 1, reason: 'same port' });
    expect(parseCorrectness('```json\n{"reason": "partial", "score": 0.5}\n```')).toEqual({
      score: 0.5,
      reason: 'partial',
    });
  });

  it('throws a CorrectnessOutputError on anything else', () => {
    expect(() => parseCorrectness('The answer is correct.')).toThrow(CorrectnessOutputError);
    expect(() => parseCorrectness('The answer is correct.')).toThrow(/not JSON/);
    expect(() => parseCorrectness('{"score": "high", "reason": "x"}')).toThrow(CorrectnessOutputError);
    expect(() => parseCorrectness('{"score": 0.5}')).toThrow(CorrectnessOutputError);
    expect(() => parseCorrectness('{"reason": "x", "score": 8}')).toThrow(/between 0 and 1/);
    expect(() => parseCorrectness('{"reason": "x", "score": -0.1}')).toThrow(CorrectnessOutputError);
  });
});
