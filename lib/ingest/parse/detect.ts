/** Which format a file is: magic bytes, then its name, then its MIME type, then its content. */
import { basename, extname } from 'node:path';
import { decodeText, parseMime, startsWith } from './decode';
import { tryParseJsonRecords } from './records';
import { ParseError, type DocumentFormat, type ParseInput } from './types';

/** Declared uncompressed size of a DOCX archive beyond which it is refused (zip bombs). */
const MAX_DOCX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024;

const UNSUPPORTED_BINARY = 'Not a PDF, DOCX, HTML, Markdown, text, CSV or JSON file (found binary content).';

/** The file names ingestion parses, by extension (a folder source takes these: lib/sources/folder.ts). */
export const EXTENSION_FORMATS: Readonly<Record<string, DocumentFormat>> = {
  '.txt': 'text',
  '.text': 'text',
  '.log': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdown': 'markdown',
  '.mkd': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
  '.csv': 'csv',
  '.tsv': 'csv',
  '.json': 'json',
  '.jsonl': 'json',
  '.ndjson': 'json',
  '.pdf': 'pdf',
  '.docx': 'docx',
};

/** Extensions of formats we know and refuse, with a hint for the person uploading. */
const UNSUPPORTED_EXTENSIONS: Record<string, string> = {
  '.doc': 'Legacy Word documents (.doc) are not supported; save the file as .docx or PDF.',
  '.xls': 'Excel workbooks are not supported; export the sheet as CSV.',
  '.xlsx': 'Excel workbooks are not supported; export the sheet as CSV.',
  '.ppt': 'PowerPoint presentations are not supported; export the slides as PDF.',
  '.pptx': 'PowerPoint presentations are not supported; export the slides as PDF.',
  '.rtf': 'RTF documents are not supported; save the file as .docx or PDF.',
  '.odt': 'OpenDocument files are not supported; save the file as .docx or PDF.',
};

const MIME_FORMATS: Record<string, DocumentFormat> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/comma-separated-values': 'csv',
  'text/tab-separated-values': 'csv',
  'application/json': 'json',
  'text/json': 'json',
  'application/x-ndjson': 'json',
  'application/ndjson': 'json',
  'application/jsonl': 'json',
  'application/x-jsonlines': 'json',
  'application/jsonlines': 'json',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};

/** Magic numbers of common binary formats we refuse, for a clearer message than "binary content". */
const KNOWN_BINARY: Array<{ magic: number[]; message: string }> = [
  {
    magic: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    message:
      'This is a legacy Microsoft Office file (.doc, .xls or .ppt), which is not supported; save it as .docx, PDF or CSV.',
  },
  { magic: [0x89, 0x50, 0x4e, 0x47], message: 'This is a PNG image; images are not supported (no OCR).' },
  { magic: [0xff, 0xd8, 0xff], message: 'This is a JPEG image; images are not supported (no OCR).' },
  { magic: [0x47, 0x49, 0x46, 0x38], message: 'This is a GIF image; images are not supported (no OCR).' },
  { magic: [0x1f, 0x8b], message: 'This is a gzip-compressed file; decompress it first.' },
  { magic: [0x52, 0x61, 0x72, 0x21], message: 'This is a RAR archive, which is not supported.' },
  { magic: [0x37, 0x7a, 0xbc, 0xaf], message: 'This is a 7-Zip archive, which is not supported.' },
  { magic: [0x7b, 0x5c, 0x72, 0x74, 0x66], message: 'RTF documents are not supported; save the file as .docx or PDF.' },
];

export interface Detected {
  format: DocumentFormat;
  /** The decoded text, for text formats (decoded once). */
  text?: string;
  /** Parsed JSON records when content sniffing already parsed them. */
  json?: unknown[];
}

/**
 * Decides the format: magic bytes (PDF, DOCX) first, then the file extension, then the MIME type, then the content.
 * Throws `ParseError` `unsupported_format` for anything else (binary content, other ZIP files, …), and `corrupt` when
 * the name or MIME type claims PDF/DOCX but the content is not.
 */
export function detectFormat(input: ParseInput): DocumentFormat {
  return detect(input).format;
}

export function detect(input: ParseInput): Detected {
  const { bytes } = input;
  if (looksLikePdf(bytes)) return { format: 'pdf' };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    return { format: detectZip(input) };
  }
  for (const { magic, message } of KNOWN_BINARY)
    if (startsWith(bytes, magic)) throw new ParseError('unsupported_format', message);

  const ext = input.filename ? extname(input.filename).toLowerCase() : '';
  const unsupportedHint = UNSUPPORTED_EXTENSIONS[ext];
  if (unsupportedHint) throw new ParseError('unsupported_format', unsupportedHint);
  const mime = parseMime(input.mimeType);
  const declared =
    EXTENSION_FORMATS[ext] ??
    (mime ? (MIME_FORMATS[mime.type] ?? (mime.type.endsWith('+json') ? 'json' : undefined)) : undefined);
  if (declared === 'pdf') {
    throw new ParseError(
      'corrupt',
      `${describe(input)} is declared as a PDF but does not contain PDF data (no %PDF- header).`,
    );
  }
  if (declared === 'docx') {
    throw new ParseError(
      'corrupt',
      `${describe(input)} is declared as a Word document but is not a valid .docx (ZIP) file.`,
    );
  }
  if (isBinary(bytes)) throw new ParseError('unsupported_format', UNSUPPORTED_BINARY);

  const text = decodeText(bytes, input.mimeType);
  if (declared) return { format: declared, text };
  return sniffText(text);
}

function describe(input: ParseInput): string {
  return input.filename ? `"${basename(input.filename)}"` : 'The file';
}

/** `%PDF-` at the start, or within the first KB (pdf.js, like Acrobat, tolerates a little leading junk). */
function looksLikePdf(bytes: Buffer): boolean {
  const at = bytes.subarray(0, 1024).indexOf('%PDF-');
  return at === 0 || (at > 0 && !bytes.subarray(0, at).includes(0x3c /* '<': not an HTML page quoting a PDF */));
}

function isBinary(bytes: Buffer): boolean {
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) return false; // UTF-16 with BOM
  return bytes.subarray(0, 8192).includes(0);
}

function sniffText(text: string): Detected {
  const head = text
    .slice(0, 4096)
    .replace(/^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*/, '')
    .toLowerCase();
  if (head.startsWith('<!doctype html') || /^<html[\s>]/.test(head)) return { format: 'html', text };
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    const json = tryParseJsonRecords(text);
    if (json) return { format: 'json', text, json };
  }
  return { format: 'text', text };
}

interface ZipDirectory {
  names: string[];
  uncompressedBytes: number;
}

/** Reads the names in a ZIP's central directory; undefined when it cannot be found (truncated, ZIP64, …). */
function readZipDirectory(bytes: Buffer): ZipDirectory | undefined {
  const min = Math.max(0, bytes.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= min; i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const count = bytes.readUInt16LE(eocd + 10);
  let p = bytes.readUInt32LE(eocd + 16);
  const names: string[] = [];
  let uncompressedBytes = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || bytes.readUInt32LE(p) !== 0x02014b50) return undefined;
    const nameLength = bytes.readUInt16LE(p + 28);
    uncompressedBytes += bytes.readUInt32LE(p + 24);
    names.push(bytes.toString('utf8', p + 46, p + 46 + nameLength));
    p += 46 + nameLength + bytes.readUInt16LE(p + 30) + bytes.readUInt16LE(p + 32);
  }
  return { names, uncompressedBytes };
}

function detectZip(input: ParseInput): DocumentFormat {
  const { bytes } = input;
  const dir = readZipDirectory(bytes);
  if (!dir) {
    // No readable central directory: a damaged (e.g. truncated) archive. If it looks like or is named as a Word
    // document, let the DOCX reader fail on it (→ corrupt); otherwise it is some other archive.
    const named = input.filename ? extname(input.filename).toLowerCase() === '.docx' : false;
    if (named || bytes.includes('word/')) return 'docx';
    throw new ParseError(
      'unsupported_format',
      'This is a ZIP archive (and an unreadable one), not a Word document; ZIP files are not supported.',
    );
  }
  if (dir.names.includes('word/document.xml')) {
    if (dir.uncompressedBytes > MAX_DOCX_UNCOMPRESSED_BYTES) {
      throw new ParseError(
        'too_large',
        'The Word document expands to more than 512 MB when unpacked, which is more than can be ingested.',
      );
    }
    return 'docx';
  }
  const has = (prefix: string) => dir.names.some((n) => n.startsWith(prefix));
  if (has('xl/'))
    throw new ParseError('unsupported_format', 'Excel workbooks (.xlsx) are not supported; export the sheet as CSV.');
  if (has('ppt/'))
    throw new ParseError(
      'unsupported_format',
      'PowerPoint presentations (.pptx) are not supported; export the slides as PDF.',
    );
  if (dir.names.includes('mimetype') && has('content.xml')) {
    throw new ParseError('unsupported_format', 'OpenDocument files are not supported; save the file as .docx or PDF.');
  }
  throw new ParseError(
    'unsupported_format',
    'This is a ZIP archive, not a Word document; ZIP files are not supported.',
  );
}
