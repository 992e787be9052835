import { describe, expect, it } from 'vitest';
import type { ChatMessage, ProviderCallOptions } from '../types';
import {
  DEFAULT_LOCAL_DIMENSIONS,
  LOCAL_EXTRACTIVE_MODEL,
  LocalProvider,
  NO_ANSWER_TEXT,
  estimateTokens,
  extractiveAnswer,
  hashEmbedding,
  parsePrompt,
  wordDeltas,
} from './local';

const opts: ProviderCallOptions = { model: 'ignored', timeoutMs: 10_000 };
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));

// Anchor, a paraphrase sharing some of its words, an unrelated sentence on another topic.
const TRIPLES: [string, string, string][] = [
  [
    'A list comprehension creates a new list by applying an expression to each item of an iterable.',
    'List comprehensions apply an expression to every item in an iterable and build a list from the results.',
    'The Nile flows north through eleven countries before it reaches the Mediterranean Sea.',
  ],
  [
    'The with statement guarantees that a file is closed even if an exception is raised inside the block.',
    'Opening a file in a with block closes it automatically, even when an exception occurs.',
    'Knead the dough for ten minutes until it is smooth and elastic, then let it rise.',
  ],
  [
    'Mount Everest, on the border between Nepal and China, is the highest mountain on Earth.',
    'The highest mountain in the world is Everest, which sits on the Nepal–China border.',
    'Dictionaries map hashable keys to values and keep their insertion order since Python 3.7.',
  ],
  [
    'The Amazon rainforest covers much of the Amazon basin in South America.',
    "Much of South America's Amazon basin is covered by rainforest.",
    'Sear the steak in a very hot pan for two minutes on each side.',
  ],
  [
    'Simmer the tomato sauce gently for twenty minutes, stirring occasionally so it does not burn.',
    'Stir the sauce now and then while it simmers for about twenty minutes, so the tomatoes do not burn.',
    'Virtual environments keep the dependencies of different Python projects separate.',
  ],
  [
    'Preheat the oven to 180 degrees and grease a round cake tin with butter.',
    'Grease the cake tin with butter while the oven preheats to 180 degrees.',
    'Canberra, not Sydney, is the capital city of Australia.',
  ],
  [
    'Use the venv module to create a lightweight virtual environment for your project.',
    'A lightweight virtual environment for a project can be created with the venv module.',
    'Lake Baikal in Siberia is the deepest freshwater lake in the world.',
  ],
  [
    'Iceland sits on the Mid-Atlantic Ridge, so it has many active volcanoes and hot springs.',
    'Because the Mid-Atlantic Ridge runs through Iceland, the island has active volcanoes and geothermal springs.',
    'Whisk the eggs with sugar until pale, then fold in the sifted flour.',
  ],
];

describe('LocalProvider.embed', () => {
  const provider = new LocalProvider();

  it('is labelled local', async () => {
    expect(provider.name).toBe('local');
    const r = await provider.embed(['hello'], opts);
    expect(r.model).toBe('local-embed-384');
    expect(r.dimensions).toBe(DEFAULT_LOCAL_DIMENSIONS);
  });

  it('gives identical vectors for identical text, across calls, batches and instances', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const a = await provider.embed([text, 'something else', text], opts);
    const b = await new LocalProvider().embed([text], opts);
    expect(a.vectors[0]).toEqual(a.vectors[2]);
    expect(a.vectors[0]).toEqual(b.vectors[0]);
    expect(a.vectors[0]).not.toEqual(a.vectors[1]);
    expect(hashEmbedding(text)).toEqual(a.vectors[0]);
  });

  it('ignores case, punctuation and compatibility forms (NFKC)', () => {
    expect(hashEmbedding('ＰＹＴＨＯＮ Packaging!')).toEqual(hashEmbedding('python packaging'));
  });

  it('returns L2-normalised vectors of the configured dimension', async () => {
    const r = await provider.embed(TRIPLES.flat(), opts);
    expect(r.vectors).toHaveLength(TRIPLES.length * 3);
    for (const v of r.vectors) {
      expect(v).toHaveLength(384);
      expect(norm(v)).toBeCloseTo(1, 10);
    }
    const small = new LocalProvider({ dimensions: 64 });
    const s = await small.embed(['Paris is the capital of France.'], opts);
    expect(s).toMatchObject({ model: 'local-embed-64', dimensions: 64 });
    expect(s.vectors[0]).toHaveLength(64);
    expect(norm(s.vectors[0] ?? [])).toBeCloseTo(1, 10);
  });

  it('gives the zero vector for a text without words', async () => {
    const r = await provider.embed(['', '   ', '?!…'], opts);
    for (const v of r.vectors) {
      expect(v).toHaveLength(384);
      expect(v.every((x) => x === 0)).toBe(true);
    }
  });

  it('rejects a bad dimension', () => {
    expect(() => new LocalProvider({ dimensions: 0 })).toThrow(RangeError);
    expect(() => new LocalProvider({ dimensions: 1.5 })).toThrow(RangeError);
  });

  it('reports token estimates as input usage and nothing as output', async () => {
    const texts = ['Hello, world!', 'Paris is the capital of France.', ''];
    const r = await provider.embed(texts, opts);
    expect(r.usage).toEqual({ inputTokens: texts.reduce((n, t) => n + estimateTokens(t), 0), outputTokens: 0 });
    expect(r.usage.inputTokens).toBe(4 + 7);
  });

  it.each(TRIPLES.map((t, i) => [i, ...t]))(
    'puts a paraphrase closer than an unrelated sentence (#%i)',
    async (_i, anchor, paraphrase, unrelated) => {
      const [a, p, u] = (await provider.embed([anchor, paraphrase, unrelated], opts)).vectors;
      expect(dot(a ?? [], p ?? [])).toBeGreaterThan(dot(a ?? [], u ?? []));
      expect(dot(a ?? [], p ?? [])).toBeGreaterThan(0.3);
    },
  );

  it('relates inflected forms through stems and character trigrams', () => {
    const a = hashEmbedding('parsing configuration files');
    expect(dot(a, hashEmbedding('parse a configuration file'))).toBeGreaterThan(0.6);
    expect(dot(a, hashEmbedding('bake bread at home'))).toBeLessThan(0.2);
  });

  it('embeds 1,000 paragraphs of about 100 words quickly', async () => {
    const words = TRIPLES.flat().join(' ').split(/\s+/);
    const paragraphs = Array.from({ length: 1000 }, (_, i) =>
      Array.from({ length: 100 }, (_, j) => words[(i * 31 + j * 7) % words.length]).join(' '),
    );
    const started = performance.now();
    const r = await provider.embed(paragraphs, opts);
    const ms = performance.now() - started;
    expect(r.vectors).toHaveLength(1000);
    console.log(`local embed: 1,000 paragraphs of 100 words in ${ms.toFixed(0)} ms`);
  });

  it('respects an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider.embed(['x'], { ...opts, signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    const custom = new AbortController();
    const reason = new Error('shutting down');
    custom.abort(reason);
    await expect(provider.embed(['x'], { ...opts, signal: custom.signal })).rejects.toBe(reason);
  });
});

const PASSAGES = [
  "[1] The Eiffel Tower was completed in 1889 for the World's Fair. It is 330 metres tall. Gustave Eiffel's company designed and built it.",
  '[2] Paris is the capital of France. About 2.1 million people live in the city proper, e.g. within the périphérique.',
  '[3] Python 3.11 was released in October 2022. It is up to 60% faster than Python 3.10 on the pyperformance benchmark suite.',
  '[4] Dr. Rossi recommends simmering the sauce for 20 minutes. Season with salt at the end.',
].join('\n');

const ask = (question: string, context = PASSAGES): ChatMessage[] => [
  { role: 'system', content: `Answer only from the passages and cite them as [n].\n\n${context}` },
  { role: 'user', content: `Question: ${question}` },
];

/** Splits an answer into its `sentence [n]` parts. */
function answerParts(text: string): { sentence: string; n: number }[] {
  return [...text.matchAll(/(.+?) \[(\d+)\](?: |$)/g)].map((m) => ({ sentence: m[1] ?? '', n: Number(m[2]) }));
}

function passageText(n: number): string {
  return parsePrompt(ask('x')).passages.find((p) => p.n === n)?.text ?? '';
}

describe('LocalProvider.generate', () => {
  const provider = new LocalProvider();

  it.each([
    ['How tall is the Eiffel Tower?', [1], '330 metres'],
    ['When was Python 3.11 released?', [3], 'October 2022'],
    ['What is the capital of France?', [2], 'Paris is the capital of France.'],
    ['How long does Dr. Rossi simmer the sauce?', [4], '20 minutes'],
    ['How many people live in Paris?', [2], '2.1 million'],
  ])('answers %j extractively, citing the passages it used', async (question, cited, expected) => {
    const r = await provider.generate(ask(question), opts);
    expect(r).toMatchObject({ finishReason: 'stop', toolCalls: [], model: LOCAL_EXTRACTIVE_MODEL });
    expect(r.text).toContain(expected);
    const parts = answerParts(r.text);
    expect(parts.length).toBeGreaterThan(0);
    expect(parts.length).toBeLessThanOrEqual(3);
    expect(parts.map((p) => `${p.sentence} [${p.n}]`).join(' ')).toBe(r.text);
    expect([...new Set(parts.map((p) => p.n))]).toEqual(cited);
    for (const p of parts) expect(passageText(p.n)).toContain(p.sentence);
  });

  it('keeps abbreviations and decimals inside the sentences it quotes', async () => {
    const r = await provider.generate(ask('How many people live in the city proper of Paris?'), opts);
    expect(r.text).toBe('About 2.1 million people live in the city proper, e.g. within the périphérique. [2]');
  });

  it('orders sentences from several passages by passage order', async () => {
    const context = [
      '[1] Basil is a fragrant herb used in Italian cooking.',
      '[2] Tomatoes were brought to Italy from the Americas in the 16th century.',
      '[3] Italian cooking often combines tomatoes with basil and olive oil.',
    ].join('\n');
    const question = 'Which herbs go with tomatoes in Italian cooking?';
    const r = extractiveAnswer(parsePrompt(ask(question, context)).passages, question);
    expect(r.citations).toEqual([1, 3]);
    expect(r.text).toBe(
      'Basil is a fragrant herb used in Italian cooking. [1] Italian cooking often combines tomatoes with basil and olive oil. [3]',
    );
  });

  it.each([
    ['Who painted the Mona Lisa?', PASSAGES],
    ['What is the capital of Germany?', PASSAGES],
    ['How tall is Mount Everest?', PASSAGES],
    ['When was Python 3.12 released?', PASSAGES],
    ['What is the capital of France?', ''],
    ['', PASSAGES],
  ])('answers %j plainly when the passages do not answer it', async (question, context) => {
    const r = await provider.generate(ask(question, context), opts);
    expect(r.text).toBe(NO_ANSWER_TEXT);
    expect(r.finishReason).toBe('stop');
  });

  it('reads the prompt convention: passages anywhere, continuation lines, question label', () => {
    const parsed = parsePrompt([
      {
        role: 'system',
        content: 'Use these:\n[1] Paris is the capital of France.\nIt lies on the Seine.\n\nBe brief.',
      },
      { role: 'assistant', content: '[9] not a passage: assistants are ignored' },
      { role: 'user', content: 'Earlier question?' },
      {
        role: 'user',
        content:
          '[2] Berlin is the capital of Germany.\n  [10] Bonn was the capital of West Germany.\n\nAnd what about Germany?',
      },
    ]);
    expect(parsed.passages).toEqual([
      { n: 1, text: 'Paris is the capital of France.\nIt lies on the Seine.' },
      { n: 2, text: 'Berlin is the capital of Germany.' },
      { n: 10, text: 'Bonn was the capital of West Germany.' },
    ]);
    expect(parsed.question).toBe('And what about Germany?');
    const labelled = parsePrompt([
      {
        role: 'user',
        content: '[1] Some passage.\n\nAnswer the question from the passages.\nQuestion: What is it?\n\nAnswer:',
      },
    ]);
    expect(labelled.question).toBe('What is it?');
    const adjacent = parsePrompt([{ role: 'user', content: '[1] Some passage.\nQuestion: What is it?' }]);
    expect(adjacent).toEqual({ passages: [{ n: 1, text: 'Some passage.' }], question: 'What is it?' });
  });

  it('answers from a passage in the user message, with instructions around the question', async () => {
    const r = await provider.generate(
      [
        {
          role: 'user',
          content: [
            'Answer the question using only the provided passages.',
            '',
            '[1] Paris is the capital of France.',
            '[2] Berlin is the capital of Germany.',
            '',
            'What is the capital of Germany?',
          ].join('\n'),
        },
      ],
      opts,
    );
    expect(r.text).toBe('Berlin is the capital of Germany. [2]');
  });

  it('collapses a hard line wrap inside a quoted sentence, and nothing else', async () => {
    const context = "[1] The Eiffel Tower was completed\nin 1889 for the World's Fair.";
    const r = await provider.generate(ask('When was the Eiffel Tower completed?', context), opts);
    expect(r.text).toBe("The Eiffel Tower was completed in 1889 for the World's Fair. [1]");
  });

  it('returns JSON when asked for a response format', async () => {
    for (const responseFormat of [
      { type: 'json_object' as const },
      { type: 'json_schema' as const, name: 'answer', schema: { type: 'object' } },
    ]) {
      const r = await provider.generate(ask('When was Python 3.11 released?'), { ...opts, responseFormat });
      expect(JSON.parse(r.text)).toEqual({ answer: 'Python 3.11 was released in October 2022. [3]', citations: [3] });
      const none = await provider.generate(ask('Who painted the Mona Lisa?'), { ...opts, responseFormat });
      expect(JSON.parse(none.text)).toEqual({ answer: NO_ANSWER_TEXT, citations: [] });
    }
  });

  it('does not call tools', async () => {
    const r = await provider.generate(ask('What is the capital of France?'), {
      ...opts,
      tools: [{ name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' } } } }],
    });
    expect(r.toolCalls).toEqual([]);
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe('Paris is the capital of France. [2]');
  });

  it('streams word-sized deltas that concatenate to the same text', async () => {
    const plain = await provider.generate(ask('How tall is the Eiffel Tower?'), opts);
    const deltas: string[] = [];
    const streamed = await provider.generate(ask('How tall is the Eiffel Tower?'), {
      ...opts,
      stream: true,
      onToken: (d) => deltas.push(d),
    });
    expect(streamed).toEqual(plain);
    expect(deltas.join('')).toBe(plain.text);
    expect(deltas.length).toBe(plain.text.split(' ').length);
    for (const d of deltas) expect(d.trim()).not.toContain(' ');
    expect(wordDeltas('')).toEqual([]);
    expect(wordDeltas(' a  b ').join('')).toBe(' a  b ');
  });

  it('reports token estimates for the messages in and the text out', async () => {
    const messages = ask('What is the capital of France?');
    const r = await provider.generate(messages, opts);
    expect(r.usage).toEqual({
      inputTokens: messages.reduce((n, m) => n + estimateTokens(m.content ?? ''), 0),
      outputTokens: estimateTokens(r.text),
    });
  });

  it('respects an aborted signal, before and during streaming', async () => {
    const before = new AbortController();
    before.abort();
    await expect(
      provider.generate(ask('What is the capital of France?'), { ...opts, signal: before.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });

    const during = new AbortController();
    const deltas: string[] = [];
    await expect(
      provider.generate(ask('How tall is the Eiffel Tower?'), {
        ...opts,
        signal: during.signal,
        stream: true,
        onToken: (d) => {
          deltas.push(d);
          during.abort();
        },
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(deltas).toHaveLength(1);
  });
});
