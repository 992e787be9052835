import { describe, expect, it } from 'vitest';
import { contentTerms, estimateTokens, fnv1a32, normalizeText, splitSentences, stem, tokenizeWords } from './text';

describe('normalizeText and tokenizeWords', () => {
  it('folds case and compatibility forms (NFKC) and strips punctuation', () => {
    expect(normalizeText('ＰＹＴＨＯＮ ﬁle')).toBe('python file');
    expect(tokenizeWords(normalizeText("Python's well-known snake_case: don't panic!"))).toEqual([
      'python',
      'well',
      'known',
      'snake',
      'case',
      'dont',
      'panic',
    ]);
  });

  it('keeps decimals, versions and thousands whole, and accented words', () => {
    expect(tokenizeWords('Python 3.11, v1.2.3 and 1,000 cafés.')).toEqual([
      'Python',
      '3.11',
      'v1.2.3',
      'and',
      '1,000',
      'cafés',
    ]);
  });
});

describe('stem', () => {
  it.each([
    [['make', 'makes', 'making'], 'mak'],
    [['study', 'studies', 'studied', 'studying'], 'studi'],
    [['run', 'runs', 'running'], 'run'],
    [['use', 'uses', 'used', 'using'], 'us'],
    [['box', 'boxes'], 'box'],
    [['class', 'classes'], 'class'],
    [['city', 'cities'], 'citi'],
    [['call', 'calls', 'called', 'calling'], 'call'],
    [['need', 'needs', 'needed'], 'need'],
  ])('folds %j to one stem', (words, expected) => {
    for (const w of words) expect(stem(w)).toBe(expected);
  });

  it('leaves short words, numbers and non-suffixes alone', () => {
    for (const w of ['is', 'gas', 'thing', 'string', 'analysis', 'bus', '3.11', 'python']) {
      expect(stem(w)).toBe(w);
    }
  });

  it('gives content terms without stopwords', () => {
    expect(contentTerms('What is the capital of France?')).toEqual(['capital', 'franc']);
  });
});

describe('splitSentences', () => {
  const split = (t: string) => splitSentences(t).map((s) => s.text);

  it('does not split at abbreviations, initials, decimals or versions', () => {
    expect(
      split(
        'Python 3.11 was released in Oct. 2022. It is e.g. faster than 3.10! ' +
          'Dr. Smith met J. R. R. Tolkien in the U.S. Army. See p. 12 for details. Why?',
      ),
    ).toEqual([
      'Python 3.11 was released in Oct. 2022.',
      'It is e.g. faster than 3.10!',
      'Dr. Smith met J. R. R. Tolkien in the U.S. Army.',
      'See p. 12 for details.',
      'Why?',
    ]);
  });

  it('does not split before a lower-case word', () => {
    expect(split('Use tools, i.e. linters... and formatters. Done.')).toEqual([
      'Use tools, i.e. linters... and formatters.',
      'Done.',
    ]);
  });

  it('splits at blank lines, list items, headings and titles, not at hard wraps', () => {
    expect(
      split('Installation\nRun the installer. It asks\nfor a folder. Then:\n- pick one\n- confirm\n\nLast paragraph'),
    ).toEqual([
      'Installation',
      'Run the installer.',
      'It asks\nfor a folder.',
      'Then:',
      '- pick one',
      '- confirm',
      'Last paragraph',
    ]);
  });

  it('splits CJK text at its full stops', () => {
    expect(split('東京は日本の首都です。大阪も大きい。')).toEqual(['東京は日本の首都です。', '大阪も大きい。']);
  });

  it('reports offsets into the input', () => {
    const text = '  First one.  Second one!\n';
    for (const s of splitSentences(text)) expect(text.slice(s.start, s.end)).toBe(s.text);
    expect(splitSentences('')).toEqual([]);
  });
});

describe('estimateTokens', () => {
  it('counts words, punctuation and CJK characters', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('   ')).toBe(0);
    expect(estimateTokens('Hello, world!')).toBe(4);
    expect(estimateTokens('supercalifragilistic')).toBe(3); // 20 characters: ceil(20 / 8)
    expect(estimateTokens('東京は日本')).toBe(5);
  });

  // The definition, as a regex: one match per CJK character, per run of other letters/marks/digits (ceil(length / 8)
  // for runs over 8 code units), and per other non-space character.
  const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
  const TOKEN_RE = new RegExp(`[${CJK}]|(?:(?![${CJK}])[\\p{L}\\p{M}\\p{N}])+|[^\\s\\p{L}\\p{M}\\p{N}]`, 'gu');
  const reference = (text: string) => {
    let n = 0;
    for (const [m] of text.matchAll(TOKEN_RE))
      n += m.length > 8 && !new RegExp(`^[${CJK}]$`, 'u').test(m) ? Math.ceil(m.length / 8) : 1;
    return n;
  };

  it('agrees with the regex definition on mixed scripts, symbols, controls, astral and lone surrogates', () => {
    const samples = [
      'naïve café – “quoted” text… ½ ² Ⅻ',
      'e\u0301t\u00e9 combining marks, \u00a0no-break\u2009thin\u3000ideographic space\ufeff',
      'Ελληνικά кириллица עברית العربية हिन्दी ไทย',
      '한국어 テキスト カタカナｶﾀｶﾅ 中文字符 mixed漢字and latin',
      '𝒳 math 𝟘𝟙 emoji 😀👍🏽 astral 𠀀 (CJK ext B)',
      'snake_case_identifier_that_is_long os.path.join(a, b) x86_64 3.11 1,000',
      '\u0000\u0007 control \u007f\u0085 next line \u2028 separator',
      'lone \ud800 high and \udc00 low surrogates',
    ];
    for (const s of samples) expect(estimateTokens(s), s).toBe(reference(s));
    // Random strings over a mixed alphabet, deterministic.
    const alphabet = [...'ab Z9_-.,\n\t’é東ｶ😀\u0301\u00a0\ud800\u2028ß٣'];
    let x = 7;
    for (let t = 0; t < 500; t++) {
      let s = '';
      const len = t % 40;
      for (let i = 0; i < len; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        s += alphabet[(x >>> 8) % alphabet.length];
      }
      expect(estimateTokens(s), JSON.stringify(s)).toBe(reference(s));
    }
  });
});

describe('fnv1a32', () => {
  it('matches the reference values', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});
