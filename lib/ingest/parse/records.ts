/** Record formats: CSV (csv-parse) and JSON / JSON Lines, one line per record, in groups of RECORDS_PER_SECTION. */
import { extname } from 'node:path';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { collapse, reason } from './text';
import { ParseError, type ParsedSection } from './types';

/** CSV rows / JSON records per section. */
export const RECORDS_PER_SECTION = 50;

// ------------------------------------------------------------------------------------------------------------ CSV

function sniffDelimiter(text: string, filename: string | undefined): string {
  if (filename && extname(filename).toLowerCase() === '.tsv') return '\t';
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n')).replace(/"[^"]*"/g, '');
  let best = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t', '|']) {
    const n = firstLine.split(d).length - 1;
    if (n > bestCount) {
      best = d;
      bestCount = n;
    }
  }
  return best;
}

function rangeLabel(noun: string, from: number, to: number): string {
  return from === to ? `${noun.replace(/s$/, '')} ${from}` : `${noun} ${from}–${to}`;
}

/** Records (one line each) in groups of RECORDS_PER_SECTION, headed [label, 'rows 1–50']. */
function groupRecords(records: string[], label: string, noun: string): ParsedSection[] {
  const sections: ParsedSection[] = [];
  for (let i = 0; i < records.length; i += RECORDS_PER_SECTION) {
    const group = records.slice(i, i + RECORDS_PER_SECTION);
    const text = group.filter((r) => r !== '').join('\n');
    if (text === '') continue;
    sections.push({ text, headingPath: [label, rangeLabel(noun, i + 1, i + group.length)] });
  }
  return sections;
}

export function parseCsv(text: string, label: string, filename: string | undefined): { sections: ParsedSection[] } {
  let rows: string[][];
  try {
    rows = parseCsvSync(text, {
      delimiter: sniffDelimiter(text, filename),
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
    });
  } catch (e) {
    throw new ParseError('corrupt', `The CSV file could not be parsed: ${reason(e)}.`, { cause: e });
  }
  const [header, ...data] = rows;
  if (!header) return { sections: [] };
  if (data.length === 0) throw new ParseError('empty', 'The CSV file has a header row but no data rows.');
  const names = header.map((h, i) => collapse(h) || `column ${i + 1}`);
  const records = data.map((cells) =>
    cells
      .map((v, i) => {
        const value = collapse(v);
        return value === '' ? undefined : `${names[i] ?? `column ${i + 1}`}: ${value}`;
      })
      .filter((p): p is string => p !== undefined)
      .join('; '),
  );
  return { sections: groupRecords(records, label, 'rows') };
}

// ----------------------------------------------------------------------------------------------------------- JSON

/** Whole-text JSON (array → its items, anything else → one record), or JSONL; undefined when neither parses. */
export function tryParseJsonRecords(text: string): unknown[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length < 2) return undefined;
    try {
      return lines.map((l) => JSON.parse(l) as unknown);
    } catch {
      return undefined;
    }
  }
}

function parseJsonStrict(text: string, filename: string | undefined): unknown[] {
  const ext = filename ? extname(filename).toLowerCase() : '';
  const lines = text.split(/\r?\n/);
  if (ext === '.jsonl' || ext === '.ndjson') {
    const records: unknown[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        records.push(JSON.parse(line));
      } catch (e) {
        throw new ParseError('corrupt', `Line ${i + 1} of the JSON Lines file is not valid JSON: ${reason(e)}.`, {
          cause: e,
        });
      }
    });
    return records;
  }
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch (e) {
    const asLines = tryParseJsonRecords(text); // JSON Lines saved as .json
    if (asLines) return asLines;
    throw new ParseError('corrupt', `The file is not valid JSON: ${reason(e)}.`, { cause: e });
  }
}

function flatten(value: unknown, key: string, out: Map<string, string[]>): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) flatten(item, key, out);
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, key ? `${key}.${k}` : k, out);
  } else {
    const text = collapse(String(value));
    if (text === '') return;
    const values = out.get(key);
    if (values) values.push(text);
    else out.set(key, [text]);
  }
}

/** `key: value; nested.key: value; list: a, b`. */
export function recordText(record: unknown): string {
  const fields = new Map<string, string[]>();
  flatten(record, '', fields);
  return [...fields].map(([k, values]) => (k === '' ? values.join(', ') : `${k}: ${values.join(', ')}`)).join('; ');
}

export function parseJson(
  text: string,
  label: string,
  sniffed: unknown[] | undefined,
  filename: string | undefined,
): { sections: ParsedSection[] } {
  if (text.trim() === '') return { sections: [] };
  const records = sniffed ?? parseJsonStrict(text, filename);
  return { sections: groupRecords(records.map(recordText), label, 'records') };
}
