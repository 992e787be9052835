import { describe, expect, it } from 'vitest';
import type { DatasetItem } from '../contracts/evals';
import { AppError } from '../errors';
import { parseCsv, parseDatasetFile, parseJsonLines, serializeCsv, serializeDataset } from './dataset-format';

const items: DatasetItem[] = [
  {
    id: 'item-1',
    question: 'What is the default pickle protocol in Python 3.11?',
    expectedAnswer: 'Protocol 5, "the newest".',
    expectedFacts: ['protocol 5', 'added in 3.8, with out-of-band data'],
    goldSources: ['pickle.md', 'https://example.com/a|b'],
    sourceAnswerId: '0b6d6a4e-58a8-4c1e-9c55-3f1f8f6c0d11',
    metadata: { tags: ['python'], level: 2 },
  },
  { id: 'q2', question: 'A question\nover two lines, with "quotes", commas; and a | pipe' },
  { id: 'item-3', question: 'Only facts', expectedFacts: ['x'] },
];

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('did not throw');
}

describe('dataset files', () => {
  it.each(['jsonl', 'csv'] as const)('round-trips %s byte for byte', (format) => {
    const text = serializeDataset(items, format);
    const parsed = parseDatasetFile(text, format);
    expect(parsed).toEqual(items);
    expect(serializeDataset(parsed as DatasetItem[], format)).toBe(text);
  });

  it('writes JSON lines in the contract’s names and CSV with snake_case headers and JSON lists', () => {
    expect(serializeDataset(items.slice(2), 'jsonl')).toBe(
      '{"id":"item-3","question":"Only facts","expectedFacts":["x"]}\n',
    );
    const csv = serializeCsv(items.slice(0, 1));
    expect(csv.split('\n')[0]).toBe(
      'id,question,expected_answer,expected_facts,gold_sources,source_answer_id,metadata',
    );
    expect(csv).toContain('"[""pickle.md"",""https://example.com/a|b""]"');
  });

  it.each(['jsonl', 'csv'] as const)(
    'round-trips grounding cases in %s; CSV adds their columns only then',
    (format) => {
      const cases: DatasetItem[] = [
        {
          id: 'g1',
          question: 'What does the pickle module implement?',
          candidateAnswer: 'It implements binary protocols, "fast" ones.',
          context: ['The pickle module implements binary protocols.', 'A second passage, with a comma'],
          expectedVerdict: 'supported',
        },
        {
          id: 'g2',
          question: 'Is pickle secure?',
          candidateAnswer: 'Yes.',
          context: ['It is not secure.'],
          expectedVerdict: 'unsupported',
        },
      ];
      const text = serializeDataset(cases, format);
      expect(parseDatasetFile(text, format)).toEqual(cases);
      expect(serializeDataset(parseDatasetFile(text, format) as DatasetItem[], format)).toBe(text);
      if (format === 'csv')
        expect(text.split('\n')[0]).toBe(
          'id,question,expected_answer,expected_facts,gold_sources,source_answer_id,metadata,candidate_answer,context,expected_verdict',
        );
      const bad =
        format === 'csv' ? 'question,expected_verdict\nq,maybe\n' : '{"question":"q","expectedVerdict":"maybe"}\n';
      expect(errorOf(() => parseDatasetFile(bad, format)).message).toMatch(/^line 2|^line 1/);
    },
  );

  it('reads both naming styles and drops empty values', () => {
    const jsonl = [
      '{"id":"a","question":"Q1","expected_answer":"A","expected_facts":["f"],"gold_sources":["s"],"source_answer_id":null}',
      '',
      '{"question":"  Q2  ","expectedAnswer":"","expectedFacts":[],"goldSources":["s1","s2"],"metadata":{}}',
    ].join('\r\n');
    expect(parseJsonLines(jsonl)).toEqual([
      { id: 'a', question: 'Q1', expectedAnswer: 'A', expectedFacts: ['f'], goldSources: ['s'] },
      { question: 'Q2', goldSources: ['s1', 's2'] },
    ]);
    const csv = [
      'question,expectedAnswer,expected_facts,goldSources,metadata',
      'Q1,A,"fact one | fact two","[""s""]","{""k"":1}"',
      '"Q2, with a comma",,,,',
    ].join('\n');
    expect(parseCsv(csv)).toEqual([
      {
        question: 'Q1',
        expectedAnswer: 'A',
        expectedFacts: ['fact one', 'fact two'],
        goldSources: ['s'],
        metadata: { k: 1 },
      },
      { question: 'Q2, with a comma' },
    ]);
  });

  it('names the line of a bad JSON line and what is wrong', () => {
    const bad = errorOf(() => parseJsonLines('{"question":"ok"}\n\n{"question":"x",}\n'));
    expect(bad).toMatchObject({ status: 400, code: 'invalid_dataset_item', details: { line: 3 } });
    expect(bad.message).toMatch(/^line 3: not valid JSON/);

    const unknown = errorOf(() => parseJsonLines('{"question":"q","expected_anwser":"a"}'));
    expect(unknown.message).toMatch(/^line 1: unknown field "expected_anwser"/);
    expect(unknown.details).toEqual({ line: 1, field: 'expected_anwser' });

    expect(errorOf(() => parseJsonLines('{"id":"a"}')).message).toMatch(/^line 1: question/);
    expect(errorOf(() => parseJsonLines('["q"]')).message).toBe('line 1: an item is a JSON object');
    expect(errorOf(() => parseJsonLines(`{"question":"${'x'.repeat(4001)}"}`)).message).toMatch(/^line 1: question/);
    const facts = JSON.stringify({ question: 'q', expectedFacts: Array.from({ length: 51 }, (_, i) => `f${i}`) });
    expect(errorOf(() => parseJsonLines(facts)).message).toMatch(/at most 50 facts/);
    expect(errorOf(() => parseJsonLines('{"id":"a","question":"q"}\n{"id":"a","question":"r"}')).message).toBe(
      'line 2: id "a" is used on line 1 already',
    );
    expect(
      errorOf(() => parseJsonLines('{"question":"q","expectedAnswer":"a","expected_answer":"b"}')).message,
    ).toMatch(/given twice/);
  });

  it('refuses text Postgres cannot store and metadata nested too deep', () => {
    expect(errorOf(() => parseJsonLines('{"question":"ok"}\n{"question":"a \\u0000 b"}')).message).toBe(
      'line 2: the item holds a NUL character or an unpaired surrogate',
    );
    expect(errorOf(() => parseJsonLines('{"question":"q","metadata":{"\\ud800":1}}')).details).toEqual({ line: 1 });
    const deep = `{"question":"q","metadata":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}`;
    expect(errorOf(() => parseJsonLines(deep)).message).toMatch(/^line 1: the item nests deeper than 16 levels/);
  });

  it('names the line of a bad CSV record, counting lines inside quoted fields', () => {
    const text = 'id,question,gold_sources\na,"two\nlines",s\nb,ok,"[""unclosed"\n';
    const bad = errorOf(() => parseCsv(text));
    expect(bad.status).toBe(400);
    expect(bad.details).toMatchObject({ line: 4 });
    expect(bad.message).toMatch(/^line 4:/);

    const list = errorOf(() => parseCsv('question,gold_sources\nq,"[1, 2]"\n'));
    expect(list.message).toBe('line 2: gold_sources must be a JSON array of strings');
    expect(errorOf(() => parseCsv('question,other\nq,x\n')).message).toMatch(/^line 1: unknown column "other"/);
    expect(errorOf(() => parseCsv('id,expected_answer\na,b\n')).message).toMatch(/no "question" column/);
    const short = errorOf(() => parseCsv('id,question\na,b\nc\n'));
    expect(short.details).toMatchObject({ line: 3 });
    expect(errorOf(() => parseCsv('question\nok\n""\n')).message).toMatch(/^line 3: question is empty/);
    expect(errorOf(() => parseCsv('question,metadata\nq,{nope\n')).message).toMatch(
      /^line 2: metadata is not valid JSON/,
    );
  });

  it('reads a byte-order mark and CRLF line endings', () => {
    expect(parseCsv('\uFEFFid,question\r\na,"b\r\nc"\r\n')).toEqual([{ id: 'a', question: 'b\nc' }]);
    expect(parseCsv('')).toEqual([]);
    expect(parseJsonLines('\n\n')).toEqual([]);
  });
});
