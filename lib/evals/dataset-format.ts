import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { GROUNDING_LABELS, type DatasetItem } from '../contracts/evals';
import { badRequest } from '../errors';

/**
 * Dataset items as files: JSON lines (one DatasetItem per line, camelCase, as the contract names its fields) and CSV
 * (snake_case headers, list fields as JSON arrays). Either naming style is read; what is written is canonical, so an
 * export imported and exported again is byte for byte the same.
 */

export const DATASET_FORMATS = ['jsonl', 'csv'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export const DATASET_LIMITS = {
  itemsPerVersion: 10_000,
  questionChars: 4_000,
  expectedAnswerChars: 20_000,
  listEntries: 50,
  listEntryChars: 4_000,
  idChars: 200,
  metadataChars: 10_000,
} as const;

/** An item as given: its id may be missing (the dataset assigns `item-<n>`). */
export type DatasetItemInput = Omit<DatasetItem, 'id'> & { id?: string };

// eslint-disable-next-line no-control-regex -- control characters are what an id may not hold
const CONTROL = /[\u0000-\u001f\u007f]/;
/** NUL (Postgres cannot store it) or a surrogate without its pair: the input guard's rule, for text read from files. */
// eslint-disable-next-line no-control-regex -- NUL is what this looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_METADATA_DEPTH = 16;

/** The first problem of a value read from a file: text Postgres cannot store, or nesting too deep. Not recursive. */
function unstorable(root: unknown): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const { value, depth } = node;
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return 'holds a NUL character or an unpaired surrogate';
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_METADATA_DEPTH) return `nests deeper than ${MAX_METADATA_DEPTH} levels`;
    for (const [key, child] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) return 'holds a NUL character or an unpaired surrogate';
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  return null;
}

const listOf = (what: string) =>
  z
    .array(z.string().trim().min(1, `a ${what} is empty`).max(DATASET_LIMITS.listEntryChars))
    .max(DATASET_LIMITS.listEntries, `at most ${DATASET_LIMITS.listEntries} ${what}s per item`);

/** The one item schema: API bodies and file lines alike (after snake_case names are mapped). */
export const datasetItemSchema = z
  .object({
    id: z
      .string()
      .trim()
      .min(1)
      .max(DATASET_LIMITS.idChars)
      .refine((s) => !CONTROL.test(s), 'must not hold control characters')
      .optional(),
    question: z.string().trim().min(1, 'is empty').max(DATASET_LIMITS.questionChars),
    expectedAnswer: z.string().trim().max(DATASET_LIMITS.expectedAnswerChars).nullable().optional(),
    expectedFacts: listOf('fact').optional(),
    goldSources: listOf('gold source').optional(),
    sourceAnswerId: z.uuid().nullable().optional(),
    candidateAnswer: z.string().trim().max(DATASET_LIMITS.expectedAnswerChars).nullable().optional(),
    context: listOf('context passage').optional(),
    expectedVerdict: z.enum(GROUNDING_LABELS).nullable().optional(),
    metadata: z
      .record(z.string(), z.unknown())
      .refine((m) => JSON.stringify(m).length <= DATASET_LIMITS.metadataChars, {
        message: `must be at most ${DATASET_LIMITS.metadataChars} characters as JSON`,
      })
      .optional(),
  })
  .strict();

const SNAKE: Record<string, keyof DatasetItem> = {
  expected_answer: 'expectedAnswer',
  expected_facts: 'expectedFacts',
  gold_sources: 'goldSources',
  source_answer_id: 'sourceAnswerId',
  candidate_answer: 'candidateAnswer',
  expected_verdict: 'expectedVerdict',
};
const FIELDS: ReadonlyArray<keyof DatasetItem> = [
  'id',
  'question',
  'expectedAnswer',
  'expectedFacts',
  'goldSources',
  'sourceAnswerId',
  'candidateAnswer',
  'context',
  'expectedVerdict',
  'metadata',
];
const CSV_COLUMNS = [
  'id',
  'question',
  'expected_answer',
  'expected_facts',
  'gold_sources',
  'source_answer_id',
  'metadata',
];
/** Written after the others, and only when an item is a grounding case (older exports stay byte for byte). */
const CSV_GROUNDING_COLUMNS = ['candidate_answer', 'context', 'expected_verdict'];

const fieldName = (key: string): keyof DatasetItem | null =>
  SNAKE[key] ?? ((FIELDS as readonly string[]).includes(key) ? (key as keyof DatasetItem) : null);

/** `where` prefixes every message: `line 3`, `items.2`. */
function invalid(where: string, message: string, details: Record<string, unknown>) {
  return badRequest('invalid_dataset_item', `${where}: ${message}`, details);
}

/**
 * One item in its canonical form: fields in the contract's order, empty values dropped (an empty expected answer,
 * no facts, no gold sources, no metadata), so two spellings of the same item are equal.
 */
export function canonicalItem<T extends DatasetItemInput>(item: T): T {
  const out: Record<string, unknown> = {};
  if (item.id !== undefined) out.id = item.id;
  out.question = item.question;
  if (item.expectedAnswer) out.expectedAnswer = item.expectedAnswer;
  if (item.expectedFacts?.length) out.expectedFacts = item.expectedFacts;
  if (item.goldSources?.length) out.goldSources = item.goldSources;
  if (item.sourceAnswerId) out.sourceAnswerId = item.sourceAnswerId;
  if (item.candidateAnswer) out.candidateAnswer = item.candidateAnswer;
  if (item.context?.length) out.context = item.context;
  if (item.expectedVerdict) out.expectedVerdict = item.expectedVerdict;
  if (item.metadata && Object.keys(item.metadata).length) out.metadata = item.metadata;
  return out as T;
}

/**
 * Reads one item from an object in either naming style. `where` names it in errors (`line 4`, `items.0`); `details`
 * goes into the 400 as given (e.g. `{ line: 4 }`).
 */
export function normalizeItem(raw: unknown, where: string, details: Record<string, unknown> = {}): DatasetItemInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalid(where, 'an item is a JSON object', details);
  const problem = unstorable(raw);
  if (problem) throw invalid(where, `the item ${problem}`, details);
  const mapped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = fieldName(key);
    if (!name)
      throw invalid(where, `unknown field "${key}" (fields: ${[...FIELDS, ...Object.keys(SNAKE)].join(', ')})`, {
        ...details,
        field: key,
      });
    if (name in mapped) throw invalid(where, `"${key}" is given twice (camelCase and snake_case)`, details);
    mapped[name] = value;
  }
  const parsed = datasetItemSchema.safeParse(mapped);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length ? issue.path.map(String).join('.') : 'item';
    throw invalid(where, `${field} ${issue.message}`, { ...details, field });
  }
  return canonicalItem(parsed.data);
}

function tooMany(n: number) {
  return badRequest(
    'too_many_items',
    `A dataset version holds at most ${DATASET_LIMITS.itemsPerVersion} items; this file has ${n}.`,
    { max: DATASET_LIMITS.itemsPerVersion },
  );
}

/** Each id at most once in a file: a repeated id is refused at its second line. */
function checkDistinctIds(items: Array<{ item: DatasetItemInput; line: number }>) {
  const seen = new Map<string, number>();
  for (const { item, line } of items) {
    if (item.id === undefined) continue;
    const first = seen.get(item.id);
    if (first !== undefined)
      throw invalid(`line ${line}`, `id "${item.id}" is used on line ${first} already`, { line, field: 'id' });
    seen.set(item.id, line);
  }
}

export function parseJsonLines(text: string): DatasetItemInput[] {
  const out: Array<{ item: DatasetItemInput; line: number }> = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw invalid(`line ${line}`, `not valid JSON (${(e as Error).message})`, { line });
    }
    out.push({ item: normalizeItem(value, `line ${line}`, { line }), line });
    if (out.length > DATASET_LIMITS.itemsPerVersion) throw tooMany(out.length);
  });
  checkDistinctIds(out);
  return out.map((o) => o.item);
}

/** A CSV list cell: a JSON array, or values separated by `|`. */
function listCell(cell: string, where: string, details: Record<string, unknown>): string[] | undefined {
  const text = cell.trim();
  if (!text) return undefined;
  if (text.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw invalid(where, `${String(details.field)} is not a valid JSON array (${(e as Error).message})`, details);
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
      throw invalid(where, `${String(details.field)} must be a JSON array of strings`, details);
    return value as string[];
  }
  return text
    .split('|')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseCsv(text: string): DatasetItemInput[] {
  // One line ending, so line numbers count the way an editor shows them.
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(normalized, {
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }) as unknown as typeof records;
  } catch (e) {
    // csv-parse's line: where it found the fault (for a quote never closed, where the text ended).
    const err = e as { code?: string; lines?: number; message: string };
    const line = err.lines ?? null;
    throw badRequest('invalid_dataset_item', `line ${line ?? '?'}: ${err.message.replace(/ on line \d+$/, '')}`, {
      line,
      csv: err.code,
    });
  }
  if (!records.length) return [];
  const startLine = (r: { record: string[]; info: { lines: number } }) =>
    r.info.lines - r.record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);

  const header = records[0]!;
  const columns = header.record.map((h) => h.trim());
  const headerLine = startLine(header);
  const names = columns.map((c) => fieldName(c));
  columns.forEach((c, i) => {
    if (!names[i])
      throw invalid(
        `line ${headerLine}`,
        `unknown column "${c}" (columns: ${[...CSV_COLUMNS, ...CSV_GROUNDING_COLUMNS].join(', ')}, or their camelCase names)`,
        { line: headerLine, field: c },
      );
    if (names.indexOf(names[i]) !== i)
      throw invalid(`line ${headerLine}`, `column "${c}" is given twice`, { line: headerLine, field: c });
  });
  if (!names.includes('question'))
    throw invalid(`line ${headerLine}`, 'the header has no "question" column', { line: headerLine });

  const out: Array<{ item: DatasetItemInput; line: number }> = [];
  for (const r of records.slice(1)) {
    const line = startLine(r);
    const where = `line ${line}`;
    const raw: Record<string, unknown> = {};
    r.record.forEach((cell, i) => {
      const name = names[i]!;
      const details = { line, field: columns[i] };
      if (name === 'expectedFacts' || name === 'goldSources' || name === 'context') {
        const list = listCell(cell, where, details);
        if (list) raw[name] = list;
      } else if (name === 'metadata') {
        if (!cell.trim()) return;
        try {
          raw.metadata = JSON.parse(cell) as unknown;
        } catch (e) {
          throw invalid(where, `metadata is not valid JSON (${(e as Error).message})`, details);
        }
      } else if (name === 'question') raw.question = cell;
      else if (cell.trim()) raw[name] = cell;
    });
    out.push({ item: normalizeItem(raw, where, { line }), line });
    if (out.length > DATASET_LIMITS.itemsPerVersion) throw tooMany(out.length);
  }
  checkDistinctIds(out);
  return out.map((o) => o.item);
}

export function parseDatasetFile(text: string, format: DatasetFormat): DatasetItemInput[] {
  return format === 'csv' ? parseCsv(text) : parseJsonLines(text);
}

export function serializeJsonLines(items: readonly DatasetItem[]): string {
  return items.map((item) => JSON.stringify(canonicalItem(item)) + '\n').join('');
}

/** Lists are written as JSON arrays: unambiguous whatever the values hold (a `|` included). */
export function serializeCsv(items: readonly DatasetItem[]): string {
  const grounding = items.some((i) => i.candidateAnswer || i.context?.length || i.expectedVerdict);
  const columns = grounding ? [...CSV_COLUMNS, ...CSV_GROUNDING_COLUMNS] : CSV_COLUMNS;
  const rows = items.map((raw) => {
    const item = canonicalItem(raw);
    return columns.map((column) => {
      const value = item[(SNAKE[column] ?? column) as keyof DatasetItem];
      if (value === undefined || value === null) return '';
      return typeof value === 'string' ? value : JSON.stringify(value);
    });
  });
  return stringify([columns, ...rows], { record_delimiter: '\n' });
}

export function serializeDataset(items: readonly DatasetItem[], format: DatasetFormat): string {
  return format === 'csv' ? serializeCsv(items) : serializeJsonLines(items);
}

export const DATASET_CONTENT_TYPES: Record<DatasetFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};
