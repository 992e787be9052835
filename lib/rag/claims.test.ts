import { describe, expect, it } from 'vitest';
import { citationNumbers, isAbstention, splitClaims } from './claims';

const texts = (answer: string): string[] => splitClaims(answer).map((c) => c.text);

describe('splitClaims', () => {
  it('splits sentences and moves [n] markers into citations', () => {
    expect(
      splitClaims('The function os.path.join() joins path segments [1]. It was added in v1.2.3 [2][3]. It is fast.'),
    ).toEqual([
      { index: 0, text: 'The function os.path.join() joins path segments.', citations: [1] },
      { index: 1, text: 'It was added in v1.2.3.', citations: [2, 3] },
      { index: 2, text: 'It is fast.', citations: [] },
    ]);
  });

  it('keeps markers written after the period with the sentence they follow (the local provider style)', () => {
    expect(
      splitClaims('Python 3.11 is up to 60% faster than 3.10. [1] Use `os.path.join()` to join paths. [2]'),
    ).toEqual([
      { index: 0, text: 'Python 3.11 is up to 60% faster than 3.10.', citations: [1] },
      { index: 1, text: 'Use `os.path.join()` to join paths.', citations: [2] },
    ]);
  });

  it('reads lists, ranges and repeated numbers in markers', () => {
    expect(citationNumbers('a [1, 3] b [2-4] c [3;5] d [1]')).toEqual([1, 3, 2, 4, 5]);
    expect(splitClaims('Retries use exponential backoff [1, 2].')[0]?.citations).toEqual([1, 2]);
    expect(splitClaims('See the cited sections ([4]).')[0]?.text).toBe('See the cited sections.');
  });

  it('does not cut at abbreviations, versions or code', () => {
    expect(texts('Many modules, e.g. json and csv, ship with Python 3.11. They need no install.')).toEqual([
      'Many modules, e.g. json and csv, ship with Python 3.11.',
      'They need no install.',
    ]);
    expect(
      texts('The value is approx. 5 MB, i.e. small. Call `str.split(sep=None). Done` to split. Next one.'),
    ).toEqual(['The value is approx. 5 MB, i.e. small.', 'Call `str.split(sep=None). Done` to split.', 'Next one.']);
    expect(texts('Edit pyproject.toml and set Path.Home in settings.py first. Then run it.')).toEqual([
      'Edit pyproject.toml and set Path.Home in settings.py first.',
      'Then run it.',
    ]);
  });

  it('makes each list item a claim, without its bullet, even without final punctuation', () => {
    const answer = [
      'The client is configured as follows:',
      '- The default timeout is 30 seconds [1]',
      '* Retries use **exponential** backoff [2]',
      '1. Run `npm start` to start the stack.',
      '2) It prints the admin key once',
    ].join('\n');
    expect(splitClaims(answer)).toEqual([
      { index: 0, text: 'The default timeout is 30 seconds', citations: [1] },
      { index: 1, text: 'Retries use exponential backoff', citations: [2] },
      { index: 2, text: 'Run `npm start` to start the stack.', citations: [] },
      { index: 3, text: 'It prints the admin key once', citations: [] },
    ]);
  });

  it('skips headings, titles, lead-ins and code blocks', () => {
    const answer = [
      '## Configuration',
      '**Timeouts**',
      'Timeouts and retries',
      'The timeout is set per activity [1].',
      'The options are:',
      '```ts',
      'const x = 1. // not a claim',
      '```',
      'It defaults to one minute.',
    ].join('\n');
    expect(texts(answer)).toEqual(['The timeout is set per activity.', 'It defaults to one minute.']);
  });

  it('joins hard-wrapped lines and gives a stray marker to the claim before it', () => {
    expect(splitClaims('This sentence was\nhard-wrapped by the model [4]. And it continues.\n[5]')).toEqual([
      { index: 0, text: 'This sentence was hard-wrapped by the model.', citations: [4] },
      { index: 1, text: 'And it continues.', citations: [5] },
    ]);
  });

  it('skips abstentions but keeps claims that merely contain "not"', () => {
    const answer =
      'The documents do not say whether the cache is thread-safe. The provided documents do not contain an answer ' +
      'to this question. The cache is not shared between processes [2]. I cannot answer that from the sources.';
    expect(splitClaims(answer)).toEqual([
      { index: 0, text: 'The cache is not shared between processes.', citations: [2] },
    ]);
    expect(isAbstention('The context does not mention a limit.')).toBe(true);
    expect(isAbstention('The API does not support pagination.')).toBe(false);
    expect(splitClaims('')).toEqual([]);
    expect(splitClaims('  \n\n [1] ')).toEqual([]);
  });
});
