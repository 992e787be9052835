import { afterAll, expect, it } from 'vitest';
import { SPHINX_PAGE, buildDocx, buildPdf } from '../../../test/document-fixtures';
import { ParsePool, type ParseTask } from '.';

const pool = new ParsePool(2);
afterAll(() => pool.close());

const chunking = { chunkSize: 120, chunkOverlap: 20, combineSections: true };
const task = (filename: string, bytes: Buffer): ParseTask => ({ bytes: new Uint8Array(bytes), filename, chunking });

const DOCUMENTS: ParseTask[] = [
  task(
    'guide.md',
    Buffer.from(`# Guide\n\n${'Durable ingestion runs as Temporal workflows. '.repeat(40)}\n\n## More\n\nText.`),
  ),
  task('functions.html', Buffer.from(SPHINX_PAGE)),
  task('report.pdf', buildPdf([['Quarterly report', 'Revenue grew by 12 percent.'], ['Page two.']])),
  task(
    'spec.docx',
    buildDocx([{ style: 'Heading1', text: 'Specification' }, { text: 'The system shall be durable.' }]),
  ),
  task('cities.csv', Buffer.from('city,country\nParis,France\nBerlin,Germany\n')),
];

it('parses and chunks on its threads exactly as on the calling thread', async () => {
  const inline = new ParsePool(0);
  const expected = await Promise.all(DOCUMENTS.map((d) => inline.run(d)));
  // Several at once, more than there are threads.
  const got = await Promise.all([...DOCUMENTS, ...DOCUMENTS].map((d) => pool.run(d)));
  expect(got).toEqual([...expected, ...expected]);
  for (const outcome of expected) {
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.chunks.length).toBeGreaterThan(0);
  }
  expect(pool.threads).toBe(2);
  expect(pool.completed).toBe(DOCUMENTS.length * 2);
  expect(inline.completed).toBe(0);
});

it('says why a document cannot be read, from a thread as inline, and leaves the caller its bytes', async () => {
  const bytes = new Uint8Array(Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(64, 7)]));
  const broken: ParseTask = { bytes, filename: 'broken.pdf', chunking };
  const fromThread = await pool.run(broken);
  const inline = await new ParsePool(0).run(broken);
  expect(fromThread).toEqual(inline);
  expect(fromThread).toMatchObject({ ok: false, code: expect.any(String), message: expect.any(String) });
  expect(bytes.byteLength).toBe(73);
});
