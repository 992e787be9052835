/**
 * Document parsing for ingestion: bytes in, plain-text sections with heading paths (and pages for PDFs) out.
 *
 * Formats: PDF (unpdf / pdf.js), DOCX (mammoth → HTML), HTML (cheerio; boilerplate dropped, Sphinx-aware), Markdown
 * (marked lexer), plain text, CSV (csv-parse) and JSON / JSONL. Every failure is a `ParseError` with a stable `code` and
 * a message that can be shown to the person who uploaded the file.
 */
import { basename } from 'node:path';
import { decodeText } from './decode';
import { detect } from './detect';
import { parseDocx } from './docx';
import { parseHtml } from './html';
import { parseMarkdown } from './markdown';
import { parsePdf } from './pdf';
import { parseCsv, parseJson } from './records';
import { tidy } from './text';
import { ParseError, type DocumentFormat, type ParsedDocument, type ParsedSection, type ParseInput } from './types';

export { detectFormat } from './detect';
export { recordText, RECORDS_PER_SECTION } from './records';
export { ParseError } from './types';
export type { DocumentFormat, ParsedDocument, ParsedSection, ParseErrorCode, ParseInput } from './types';

/** Largest input accepted, in bytes. */
export const MAX_DOCUMENT_BYTES = 50 * 1024 * 1024;

const FORMAT_NAMES: Record<DocumentFormat, string> = {
  text: 'text file',
  markdown: 'Markdown file',
  html: 'HTML page',
  pdf: 'PDF',
  docx: 'Word document',
  csv: 'CSV file',
  json: 'JSON file',
};

export async function parseDocument(input: ParseInput): Promise<ParsedDocument> {
  const { bytes } = input;
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    throw new ParseError(
      'too_large',
      `The file is ${(bytes.length / (1024 * 1024)).toFixed(1)} MB; files up to ${MAX_DOCUMENT_BYTES / (1024 * 1024)} MB can be ingested.`,
    );
  }
  if (bytes.length === 0) throw new ParseError('empty', 'The file is empty.');

  const detected = detect(input);
  const label = input.filename ? basename(input.filename) : undefined;
  let parsed: { title?: string; sections: ParsedSection[] };
  switch (detected.format) {
    case 'pdf':
      parsed = await parsePdf(bytes);
      break;
    case 'docx':
      parsed = await parseDocx(bytes);
      break;
    case 'html':
      parsed = parseHtml(detected.text ?? decodeText(bytes, input.mimeType));
      break;
    case 'markdown':
      parsed = parseMarkdown(detected.text ?? decodeText(bytes, input.mimeType));
      break;
    case 'csv':
      parsed = parseCsv(detected.text ?? decodeText(bytes, input.mimeType), label ?? 'CSV', input.filename);
      break;
    case 'json':
      parsed = parseJson(
        detected.text ?? decodeText(bytes, input.mimeType),
        label ?? 'JSON',
        detected.json,
        input.filename,
      );
      break;
    case 'text':
      parsed = { sections: [{ text: tidy(detected.text ?? decodeText(bytes, input.mimeType)), headingPath: [] }] };
      break;
  }

  const sections = parsed.sections.filter((s) => s.text.trim() !== '');
  if (sections.length === 0) {
    throw new ParseError(
      'empty',
      detected.format === 'pdf'
        ? 'The PDF has no extractable text. It may be a scanned document (images of pages); OCR is not supported.'
        : `The ${FORMAT_NAMES[detected.format]} contains no text.`,
    );
  }
  const title = parsed.title?.trim();
  return { format: detected.format, ...(title ? { title } : {}), sections };
}
