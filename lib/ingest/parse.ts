/**
 * Document parsing for ingestion: bytes in, plain-text sections with heading paths (and pages for PDFs) out.
 *
 * Formats: PDF (unpdf / pdf.js), DOCX (mammoth → HTML), HTML (cheerio; boilerplate dropped, Sphinx-aware), Markdown
 * (marked lexer), plain text, CSV (csv-parse) and JSON / JSONL. Every failure is a `ParseError` with a stable `code` and
 * a message that can be shown to the person who uploaded the file.
 */
import { basename, extname } from 'node:path';
import * as cheerio from 'cheerio';
import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import mammoth from 'mammoth';
import { Lexer, type Token, type Tokens } from 'marked';
import { parse as parseCsvSync } from 'csv-parse/sync';

export type DocumentFormat = 'text' | 'markdown' | 'html' | 'pdf' | 'docx' | 'csv' | 'json';

export interface ParsedSection {
  text: string;
  headingPath: string[];
  page?: number;
}

export interface ParsedDocument {
  format: DocumentFormat;
  title?: string;
  sections: ParsedSection[];
}

export interface ParseInput {
  bytes: Buffer;
  filename?: string;
  mimeType?: string;
}

export type ParseErrorCode = 'unsupported_format' | 'corrupt' | 'empty' | 'too_large';

export class ParseError extends Error {
  readonly code: ParseErrorCode;

  constructor(code: ParseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ParseError';
    this.code = code;
  }
}

/** Largest input accepted, in bytes. */
export const MAX_DOCUMENT_BYTES = 50 * 1024 * 1024;
/** CSV rows / JSON records per section. */
export const RECORDS_PER_SECTION = 50;
/** Declared uncompressed size of a DOCX archive beyond which it is refused (zip bombs). */
const MAX_DOCX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024;

const FORMAT_NAMES: Record<DocumentFormat, string> = {
  text: 'text file',
  markdown: 'Markdown file',
  html: 'HTML page',
  pdf: 'PDF',
  docx: 'Word document',
  csv: 'CSV file',
  json: 'JSON file',
};

const UNSUPPORTED_BINARY = 'Not a PDF, DOCX, HTML, Markdown, text, CSV or JSON file (found binary content).';

// ------------------------------------------------------------------------------------------------------------ entry

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
      parsed = parseJson(detected.text ?? decodeText(bytes, input.mimeType), label ?? 'JSON', detected.json, input.filename);
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

// -------------------------------------------------------------------------------------------------------- detection

const EXTENSION_FORMATS: Record<string, DocumentFormat> = {
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
    message: 'This is a legacy Microsoft Office file (.doc, .xls or .ppt), which is not supported; save it as .docx, PDF or CSV.',
  },
  { magic: [0x89, 0x50, 0x4e, 0x47], message: 'This is a PNG image; images are not supported (no OCR).' },
  { magic: [0xff, 0xd8, 0xff], message: 'This is a JPEG image; images are not supported (no OCR).' },
  { magic: [0x47, 0x49, 0x46, 0x38], message: 'This is a GIF image; images are not supported (no OCR).' },
  { magic: [0x1f, 0x8b], message: 'This is a gzip-compressed file; decompress it first.' },
  { magic: [0x52, 0x61, 0x72, 0x21], message: 'This is a RAR archive, which is not supported.' },
  { magic: [0x37, 0x7a, 0xbc, 0xaf], message: 'This is a 7-Zip archive, which is not supported.' },
  { magic: [0x7b, 0x5c, 0x72, 0x74, 0x66], message: 'RTF documents are not supported; save the file as .docx or PDF.' },
];

interface Detected {
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

function detect(input: ParseInput): Detected {
  const { bytes } = input;
  if (looksLikePdf(bytes)) return { format: 'pdf' };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    return { format: detectZip(input) };
  }
  for (const { magic, message } of KNOWN_BINARY) if (startsWith(bytes, magic)) throw new ParseError('unsupported_format', message);

  const ext = input.filename ? extname(input.filename).toLowerCase() : '';
  const unsupportedHint = UNSUPPORTED_EXTENSIONS[ext];
  if (unsupportedHint) throw new ParseError('unsupported_format', unsupportedHint);
  const mime = parseMime(input.mimeType);
  const declared = EXTENSION_FORMATS[ext] ?? (mime ? MIME_FORMATS[mime.type] ?? (mime.type.endsWith('+json') ? 'json' : undefined) : undefined);
  if (declared === 'pdf') {
    throw new ParseError('corrupt', `${describe(input)} is declared as a PDF but does not contain PDF data (no %PDF- header).`);
  }
  if (declared === 'docx') {
    throw new ParseError('corrupt', `${describe(input)} is declared as a Word document but is not a valid .docx (ZIP) file.`);
  }
  if (isBinary(bytes)) throw new ParseError('unsupported_format', UNSUPPORTED_BINARY);

  const text = decodeText(bytes, input.mimeType);
  if (declared) return { format: declared, text };
  return sniffText(text);
}

function describe(input: ParseInput): string {
  return input.filename ? `"${basename(input.filename)}"` : 'The file';
}

function startsWith(bytes: Buffer, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
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

function parseMime(mimeType: string | undefined): { type: string; charset?: string } | undefined {
  if (!mimeType) return undefined;
  const [type = '', ...params] = mimeType.split(';').map((p) => p.trim());
  const charset = params.map((p) => /^charset\s*=\s*"?([^";]+)"?$/i.exec(p)?.[1]).find((c) => c !== undefined);
  return { type: type.toLowerCase(), ...(charset ? { charset: charset.toLowerCase() } : {}) };
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
    throw new ParseError('unsupported_format', 'This is a ZIP archive (and an unreadable one), not a Word document; ZIP files are not supported.');
  }
  if (dir.names.includes('word/document.xml')) {
    if (dir.uncompressedBytes > MAX_DOCX_UNCOMPRESSED_BYTES) {
      throw new ParseError('too_large', 'The Word document expands to more than 512 MB when unpacked, which is more than can be ingested.');
    }
    return 'docx';
  }
  const has = (prefix: string) => dir.names.some((n) => n.startsWith(prefix));
  if (has('xl/')) throw new ParseError('unsupported_format', 'Excel workbooks (.xlsx) are not supported; export the sheet as CSV.');
  if (has('ppt/')) throw new ParseError('unsupported_format', 'PowerPoint presentations (.pptx) are not supported; export the slides as PDF.');
  if (dir.names.includes('mimetype') && has('content.xml')) {
    throw new ParseError('unsupported_format', 'OpenDocument files are not supported; save the file as .docx or PDF.');
  }
  throw new ParseError('unsupported_format', 'This is a ZIP archive, not a Word document; ZIP files are not supported.');
}

// --------------------------------------------------------------------------------------------------------- decoding

/**
 * Bytes → string. UTF-8 (BOM stripped), UTF-16 with a BOM, or the charset named in the MIME type. Text that is not
 * UTF-8 but reads as Windows-1252 / Latin-1 (few high bytes, none of them part of valid UTF-8) is decoded as such;
 * other invalid sequences become U+FFFD, and text that is mostly U+FFFD is refused as corrupt.
 */
function decodeText(bytes: Buffer, mimeType?: string): string {
  let text: string | undefined;
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) text = new TextDecoder('utf-8').decode(bytes.subarray(3));
  else if (startsWith(bytes, [0xff, 0xfe])) text = new TextDecoder('utf-16le').decode(bytes.subarray(2));
  else if (startsWith(bytes, [0xfe, 0xff])) text = new TextDecoder('utf-16be').decode(bytes.subarray(2));
  else {
    const charset = parseMime(mimeType)?.charset;
    if (charset && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
      try {
        text = new TextDecoder(charset).decode(bytes);
      } catch {
        // Unknown label: fall through to UTF-8.
      }
    }
  }
  if (text === undefined) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const lenient = new TextDecoder('utf-8').decode(bytes);
      const replaced = count(lenient, (c) => c === 0xfffd);
      const validNonAscii = count(lenient, (c) => c > 0x7f && c !== 0xfffd);
      const highBytes = bytes.reduce((n, b) => n + (b > 0x7f ? 1 : 0), 0);
      if (validNonAscii < replaced && highBytes / bytes.length < 0.3) {
        text = new TextDecoder('windows-1252').decode(bytes);
      } else {
        const visible = count(lenient, (c) => c > 0x20);
        if (replaced > visible / 2) {
          throw new ParseError('corrupt', 'The file is not readable text: most of it is not valid UTF-8.');
        }
        text = lenient;
      }
    }
  }
  // Control characters other than tab / newline / carriage return / form feed carry no text.
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/g, '');
}

/** An underlying error's message, for use inside our own sentence. */
function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).trim().replace(/\.+$/, '');
}

function count(s: string, pred: (code: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (pred(s.charCodeAt(i))) n++;
  return n;
}

// ----------------------------------------------------------------------------------------------------------- helpers

/** Line endings normalised, trailing spaces trimmed, runs of blank lines collapsed, leading/trailing blank lines removed. */
function tidy(text: string): string {
  return text
    .replace(/\r\n?|\u2028|\u2029/g, '\n')
    .replace(/\f/g, '\n\n')
    .replace(/[ \t\u00a0]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^(?:[ \t]*\n)+/, '')
    .trimEnd();
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  laquo: '«',
  raquo: '»',
  deg: '°',
};

function decodeEntities(s: string): string {
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

/** Collects blocks of text into sections, splitting at headings and tracking the heading path. */
class SectionBuilder {
  readonly sections: ParsedSection[] = [];
  private readonly stack: Array<{ level: number; text: string }> = [];
  private blocks: Array<{ text: string; tight: boolean }> = [];
  private readonly headingsSeen: string[] = [];

  /** A heading of `level` (1–6 for h1–h6; deeper levels for nested Sphinx object descriptions). */
  heading(level: number, text: string): void {
    this.flush();
    this.popTo(level);
    this.headingsSeen.push(text);
    this.stack.push({ level, text: text.length > 200 ? `${text.slice(0, 199)}…` : text });
  }

  /** Ends every heading of `level` or deeper: what follows belongs to the enclosing heading again. */
  closeLevel(level: number): void {
    this.flush();
    this.popTo(level);
  }

  /** A block of text; consecutive tight blocks (list items, table rows) are separated by one newline, others by two. */
  block(text: string, tight = false): void {
    if (text.trim() === '') return;
    this.blocks.push({ text, tight });
  }

  finish(): ParsedSection[] {
    this.flush();
    // A document of nothing but headings still has text: the headings themselves.
    if (this.sections.length === 0 && this.headingsSeen.length > 0) {
      this.sections.push({ text: this.headingsSeen.join('\n'), headingPath: [] });
    }
    return this.sections;
  }

  private popTo(level: number): void {
    while (this.stack.length > 0 && (this.stack[this.stack.length - 1]?.level ?? 0) >= level) this.stack.pop();
  }

  private flush(): void {
    let text = '';
    let prevTight = false;
    for (const [i, b] of this.blocks.entries()) {
      if (i > 0) text += prevTight && b.tight ? '\n' : '\n\n';
      text += b.text;
      prevTight = b.tight;
    }
    this.blocks = [];
    text = tidy(text);
    if (text !== '') this.sections.push({ text, headingPath: this.stack.map((h) => h.text) });
  }
}

// -------------------------------------------------------------------------------------------------------------- HTML

type El = Element;

const isElement = (n: AnyNode): n is El => n.nodeType === 1;
const isTextNode = (n: AnyNode): n is AnyNode & { data: string } => n.nodeType === 3;

const HEADING = /^h([1-6])$/;

const BLOCK_TAGS = new Set([
  'address', 'article', 'aside', 'blockquote', 'body', 'caption', 'center', 'dd', 'details', 'dialog', 'dir', 'div',
  'dl', 'dt', 'fieldset', 'figcaption', 'figure', 'footer', 'header', 'hgroup', 'hr', 'html', 'legend', 'li', 'main',
  'menu', 'nav', 'ol', 'p', 'section', 'summary', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul', 'pre',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'option', 'noscript', 'search',
]);

/** Never content. */
const ALWAYS_DROP =
  'script, style, noscript, template, svg, math annotation, iframe, object, embed, canvas, video, audio, map, button, select, input, textarea, dialog, link, meta, head';

/** Navigation and page furniture, dropped inside the content root. */
const FURNITURE =
  'nav, [role=navigation], [role=banner], [role=contentinfo], [role=search], [role=complementary], [hidden], [aria-hidden=true], .headerlink';

const CONTENT_CONTAINERS = 'main, article, [role=main]';

const BOILERPLATE_WORDS = ['sidebar', 'breadcrumb', 'cookie', 'related', 'footer', 'header'];

/** Which boilerplate word an element's class or id carries ('nav' only as a word of its own: not 'canvas', 'navy'). */
function boilerplateWord(el: El): string | undefined {
  const parts = `${el.attribs.class ?? ''} ${el.attribs.id ?? ''}`
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  for (const part of parts) {
    for (const word of BOILERPLATE_WORDS) if (part.startsWith(word) || part.endsWith(word)) return word;
    if (/^(?:[a-z]*nav|nav(?:bar|igation|menu|links?|list|items?|wrapper|container|tabs)?)$/.test(part)) return 'nav';
  }
  return undefined;
}

function textLength($: CheerioAPI, el: El): number {
  return $(el).text().replace(/\s+/g, '').length;
}

/** The main content container: <main>, [role=main] or a single top-level <article>; else <body>. */
function contentRoot($: CheerioAPI): El | undefined {
  for (const selector of ['main', '[role=main]', 'article']) {
    const outermost = $(selector)
      .get()
      .filter((el): el is El => isElement(el) && $(el).parents(selector).length === 0);
    if (outermost.length === 1 || (outermost.length > 1 && selector !== 'article')) {
      return outermost.reduce((best, el) => (textLength($, el) > textLength($, best) ? el : best));
    }
  }
  return $('body').get(0);
}

function removeBoilerplate($: CheerioAPI, root: El): void {
  const $root = $(root);
  $root.find(FURNITURE).remove();
  // <aside> is a sidebar, except where it holds footnotes or notes (Sphinx writes footnotes as aside.footnote).
  $root
    .find('aside')
    .filter((_, a) => !/footnote|endnote|\bnote\b|admonition/i.test(`${a.attribs.class ?? ''} ${a.attribs.role ?? ''}`))
    .remove();
  // Permalink anchors other doc generators add next to headings (¶, #, §).
  $root
    .find('a[href^="#"]')
    .filter((_, a) => /^[¶#§🔗]$/u.test($(a).text().trim()))
    .remove();
  // Page-level <header>/<footer> (not inside an article or section): site furniture. Inside one they may hold the
  // article's own title, so only those without a heading go.
  $root.find('footer').remove();
  $root
    .find('header')
    .filter((_, h) => $(h).closest('article, section, main, [role=main]').length === 0 || $(h).find('h1, h2, h3, h4, h5, h6').length === 0)
    .remove();
  // A form wrapping the whole page (ASP.NET) is content; a search or login form is not.
  $root
    .find('form')
    .filter((_, f) => $(f).find(`${CONTENT_CONTAINERS}, h1, h2`).length === 0)
    .remove();

  const rootLength = Math.max(1, textLength($, root));
  const candidates = $root.find('[class], [id]').get();
  for (const el of candidates) {
    const word = boilerplateWord(el);
    if (!word) continue;
    if ($(el).closest('html').length === 0) continue; // already removed with an ancestor
    if (['main', 'article', 'body', 'html'].includes(el.name) || el.attribs.role === 'main') continue;
    if ($(el).find(CONTENT_CONTAINERS).length > 0) continue;
    // A wrapper holding most of the page is layout, not furniture (e.g. <div id="page-with-sidebar">).
    if (textLength($, el) > 0.6 * rootLength) continue;
    if (word === 'header' && $(el).find('h1, h2, h3, h4, h5, h6').length > 0 && $(el).closest('article, section').length > 0) continue;
    $(el).remove();
  }
}

/** Plain text of an element on one line (table cells, headings, signatures). */
function inlineText($: CheerioAPI, el: El): string {
  const parts: string[] = [];
  const visit = (n: AnyNode) => {
    if (isTextNode(n)) parts.push(n.data);
    else if (isElement(n)) {
      if (n.name === 'br') parts.push(' ');
      else if (n.name === 'img') parts.push(imageAlt(n));
      else {
        const block = BLOCK_TAGS.has(n.name);
        if (block) parts.push(' ');
        n.children.forEach(visit);
        if (block) parts.push(' ');
      }
    }
  };
  el.children.forEach(visit);
  return collapse(parts.join('')).replace(/\s*¶$/, '');
}

function imageAlt(img: El): string {
  const alt = collapse(img.attribs.alt ?? '');
  // Sphinx and others put the image path in alt when none was given: not text.
  if (alt === '' || /^\S+\.(?:png|jpe?g|gif|svg|webp|bmp)$/i.test(alt)) return '';
  return ` ${alt} `;
}

/** Sphinx writes object descriptions as `<dl class="py function"><dt class="sig …">` (older: `dt > .descname`). */
function isSphinxSignatureList($: CheerioAPI, el: El): boolean {
  const dt = el.children.find((c): c is El => isElement(c) && c.name === 'dt');
  if (!dt) return false;
  return (dt.attribs.class ?? '').split(/\s+/).includes('sig') || $(dt).children('.descname, .sig-name').length > 0;
}

/** Walks the DOM of the content root, emitting paragraphs, list items, tables, code and headings into a builder. */
class HtmlWalker {
  private inline = '';
  private prefix = '';
  private listDepth = 0;
  private sigDepth = 0;
  firstH1: string | undefined;

  constructor(
    private readonly $: CheerioAPI,
    private readonly out: SectionBuilder,
  ) {}

  walkChildren(el: { children: AnyNode[] }): void {
    for (const child of el.children) this.walk(child);
  }

  private flushPara(tight = this.listDepth > 0): void {
    // '\u0000' marks a <br>; everything else collapses.
    let text = this.inline
      .split('\u0000')
      .map((line) => collapse(line))
      .filter((line, i, all) => line !== '' || (i > 0 && i < all.length - 1))
      .join('\n')
      .trim();
    this.inline = '';
    if (text === '') return;
    if (this.prefix) {
      text = this.prefix + text;
      this.prefix = '';
    } else if (this.listDepth > 0) {
      text = '  '.repeat(this.listDepth) + text;
    }
    this.out.block(text, tight);
  }

  private walk(node: AnyNode): void {
    if (isTextNode(node)) {
      this.inline += node.data;
      return;
    }
    if (!isElement(node)) return;
    const name = node.name;
    const heading = HEADING.exec(name);
    if (heading) {
      this.flushPara();
      const text = inlineText(this.$, node);
      if (text !== '') {
        const level = Number(heading[1]);
        if (level === 1 && this.firstH1 === undefined) this.firstH1 = text;
        this.out.heading(level, text);
      }
      return;
    }
    switch (name) {
      case 'br':
        this.inline += '\u0000';
        return;
      case 'img':
        this.inline += imageAlt(node);
        return;
      case 'pre':
        this.flushPara();
        this.out.block(preText(this.$, node), this.listDepth > 0);
        return;
      case 'table':
        this.table(node);
        return;
      case 'ul':
      case 'ol':
      case 'menu':
        this.list(node, name === 'ol');
        return;
      case 'dl':
        if (isSphinxSignatureList(this.$, node)) {
          this.sphinxSignatures(node);
          return;
        }
        break;
      case 'hr':
        this.flushPara();
        return;
    }
    if (BLOCK_TAGS.has(name)) {
      this.flushPara();
      this.walkChildren(node);
      this.flushPara(this.listDepth > 0 || name === 'dt' || name === 'dd');
    } else {
      this.walkChildren(node);
    }
  }

  private list(el: El, ordered: boolean): void {
    this.flushPara();
    let n = Number.parseInt(el.attribs.start ?? '1', 10);
    if (!Number.isFinite(n)) n = 1;
    this.listDepth++;
    for (const child of el.children) {
      if (isElement(child) && child.name === 'li') {
        this.flushPara();
        this.prefix = '  '.repeat(this.listDepth - 1) + (ordered ? `${n++}. ` : '- ');
        this.walkChildren(child);
        this.flushPara();
        this.prefix = '';
      } else {
        this.walk(child);
      }
    }
    this.flushPara();
    this.listDepth--;
  }

  private table(el: El): void {
    this.flushPara();
    const $ = this.$;
    // A layout table (headings or tables inside) is walked like any other container.
    if ($(el).find('h1, h2, h3, h4, h5, h6, table').length > 0) {
      this.walkChildren(el);
      this.flushPara();
      return;
    }
    const caption = $(el).children('caption').get(0);
    if (caption) this.out.block(inlineText($, caption));
    const rows = $(el)
      .find('tr')
      .get()
      .filter((tr) => $(tr).closest('table').get(0) === el)
      .map((tr) =>
        tr.children
          .filter((c): c is El => isElement(c) && (c.name === 'td' || c.name === 'th'))
          .map((cell) => inlineText($, cell)),
      )
      .filter((cells) => cells.some((c) => c !== ''))
      .map((cells) => cells.join(' | '));
    if (rows.length > 0) this.out.block(rows.join('\n'), this.listDepth > 0);
  }

  /**
   * Sphinx object descriptions (`dl.py.function > dt.sig + dd`): each signature becomes a heading below the current
   * one, so a function's documentation is its own section (['Built-in Functions', 'abs(x)']).
   */
  private sphinxSignatures(el: El): void {
    this.flushPara();
    const level = 7 + this.sigDepth;
    let inHeading = false;
    let previous: string | undefined;
    for (const child of el.children) {
      if (!isElement(child)) continue;
      if (child.name === 'dt') {
        const sig = inlineText(this.$, child);
        if (previous !== 'dt') {
          this.out.heading(level, sig);
          inHeading = true;
        } else {
          this.out.block(sig); // an overload: further signatures of the same object
        }
      } else if (child.name === 'dd') {
        this.sigDepth++;
        this.walkChildren(child);
        this.flushPara();
        this.sigDepth--;
      } else {
        this.walk(child);
      }
      previous = child.name;
    }
    this.flushPara();
    if (inHeading) this.out.closeLevel(level);
  }

  finish(): void {
    this.flushPara();
  }
}

function preText($: CheerioAPI, pre: El): string {
  const $pre = $(pre).clone();
  $pre.find('br').replaceWith('\n');
  return $pre
    .text()
    .replace(/\r\n?/g, '\n')
    .replace(/^\n+/, '')
    .replace(/\s+$/, '');
}

/** HTML → sections. Used for HTML pages and for DOCX (via mammoth's HTML). */
function parseHtml(html: string): { title?: string; sections: ParsedSection[] } {
  // htmlparser2 (not parse5): about twice as fast on the benchmark corpus, and lenient with the same real-world markup.
  const $ = cheerio.load(html, { xml: { xmlMode: false, decodeEntities: true } });
  const pageTitle = collapse($('title').first().text());
  $(ALWAYS_DROP).remove();
  const root = contentRoot($);
  if (!root) return { sections: [] };
  removeBoilerplate($, root);

  const out = new SectionBuilder();
  const walker = new HtmlWalker($, out);
  walker.walkChildren(root);
  walker.finish();
  const sections = out.finish();

  // <title> is usually "Page — Site": when it starts with the page's own h1, the h1 is the cleaner title.
  const h1 = walker.firstH1;
  let title = pageTitle || h1;
  if (pageTitle && h1 && pageTitle !== h1 && pageTitle.startsWith(h1) && /^\s*[—–\-|·:]/.test(pageTitle.slice(h1.length))) title = h1;
  return { ...(title ? { title } : {}), sections };
}

// ---------------------------------------------------------------------------------------------------------- Markdown

/** YAML front matter (`---` … `---`) at the top of a Markdown file; its title is kept as a fallback. */
function stripFrontMatter(src: string): { body: string; title?: string } {
  const m = /^---[ \t]*\n((?:[A-Za-z0-9_-]+[ \t]*:.*\n?(?:[ \t].*\n|-.*\n)*)+?)(?:---|\.\.\.)[ \t]*(?:\n|$)/.exec(src);
  if (!m) return { body: src };
  const title = /^title[ \t]*:[ \t]*(.+)$/m.exec(m[1] ?? '')?.[1]?.trim().replace(/^(['"])(.*)\1$/, '$2');
  return { body: src.slice(m[0].length), ...(title ? { title } : {}) };
}

function mdInline(tokens: Token[] | undefined): string {
  if (!tokens) return '';
  let s = '';
  for (const t of tokens) {
    switch (t.type) {
      case 'text':
        s += t.tokens ? mdInline(t.tokens) : decodeEntities(String(t.text)).replace(/[ \t]*\n[ \t]*/g, ' ');
        break;
      case 'escape':
      case 'codespan':
        s += String(t.text);
        break;
      case 'image':
        s += String(t.text);
        break;
      case 'br':
        s += '\n';
        break;
      case 'html':
        if (/^<br\s*\/?>$/i.test(String(t.text))) s += '\n';
        break;
      case 'checkbox':
        break;
      default: {
        const g = t as Tokens.Generic;
        s += g.tokens ? mdInline(g.tokens) : typeof g.text === 'string' ? decodeEntities(g.text) : '';
      }
    }
  }
  return s;
}

function mdList(list: Tokens.List, depth: number): string[] {
  const lines: string[] = [];
  const start = typeof list.start === 'number' ? list.start : 1;
  list.items.forEach((item, i) => {
    const indent = '  '.repeat(depth);
    let marker = list.ordered ? `${start + i}. ` : '- ';
    if (item.task) marker += item.checked ? '[x] ' : '[ ] ';
    let first = true;
    const push = (text: string) => {
      for (const line of text.split('\n')) {
        lines.push(first ? indent + marker + line : `${indent}  ${line}`);
        first = false;
      }
    };
    for (const t of item.tokens) {
      if (t.type === 'list') {
        if (first) push('');
        lines.push(...mdList(t as Tokens.List, depth + 1));
      } else if (t.type === 'code') {
        push(String(t.text));
      } else if (t.type === 'text' || t.type === 'paragraph' || t.type === 'heading') {
        push(mdInline(t.tokens ?? []).trim());
      } else if (t.type !== 'space' && t.type !== 'checkbox') {
        const text = 'tokens' in t && t.tokens ? mdInline(t.tokens) : 'text' in t ? String(t.text) : '';
        if (text.trim()) push(text.trim());
      }
    }
    if (first) push('');
  });
  return lines;
}

function mdBlocks(tokens: Token[], out: SectionBuilder, onHeading: (depth: number, text: string) => void): void {
  for (const t of tokens) {
    switch (t.type) {
      case 'heading': {
        const text = collapse(mdInline(t.tokens));
        if (text) {
          onHeading(t.depth as number, text);
          out.heading(t.depth as number, text);
        }
        break;
      }
      case 'paragraph':
        out.block(mdInline(t.tokens).trim());
        break;
      case 'text':
        out.block((t.tokens ? mdInline(t.tokens) : String(t.text)).trim());
        break;
      case 'code':
        out.block(String(t.text));
        break;
      case 'list':
        out.block(mdList(t as Tokens.List, 0).join('\n'));
        break;
      case 'blockquote':
        mdBlocks((t as Tokens.Blockquote).tokens, out, onHeading);
        break;
      case 'table': {
        const table = t as Tokens.Table;
        const rows = [table.header, ...table.rows].map((cells) => cells.map((c) => collapse(mdInline(c.tokens))).join(' | '));
        out.block(rows.join('\n'));
        break;
      }
      case 'html': {
        const $ = cheerio.load(String(t.text), null, false);
        $(ALWAYS_DROP).remove();
        const walker = new HtmlWalker($, out);
        walker.walkChildren($.root().get(0) ?? { children: [] });
        walker.finish();
        if (walker.firstH1) onHeading(1, walker.firstH1);
        break;
      }
      case 'space':
      case 'def':
      case 'hr':
        break;
      default: {
        const g = t as Tokens.Generic;
        if (g.tokens) out.block(mdInline(g.tokens).trim());
        else if (typeof g.text === 'string') out.block(g.text.trim());
      }
    }
  }
}

function parseMarkdown(src: string): { title?: string; sections: ParsedSection[] } {
  const { body, title: frontTitle } = stripFrontMatter(src.replace(/\r\n?/g, '\n'));
  const tokens = Lexer.lex(body, { gfm: true });
  const out = new SectionBuilder();
  let title: string | undefined;
  mdBlocks(tokens, out, (depth, text) => {
    if (depth === 1 && title === undefined) title = text;
  });
  title ??= frontTitle;
  return { ...(title ? { title } : {}), sections: out.finish() };
}

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

function parseCsv(text: string, label: string, filename: string | undefined): { sections: ParsedSection[] } {
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
function tryParseJsonRecords(text: string): unknown[] | undefined {
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
        throw new ParseError('corrupt', `Line ${i + 1} of the JSON Lines file is not valid JSON: ${reason(e)}.`, { cause: e });
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
  return [...fields]
    .map(([k, values]) => (k === '' ? values.join(', ') : `${k}: ${values.join(', ')}`))
    .join('; ');
}

function parseJson(text: string, label: string, sniffed: unknown[] | undefined, filename: string | undefined): { sections: ParsedSection[] } {
  if (text.trim() === '') return { sections: [] };
  const records = sniffed ?? parseJsonStrict(text, filename);
  return { sections: groupRecords(records.map(recordText), label, 'records') };
}

// ------------------------------------------------------------------------------------------------------------ PDF

async function parsePdf(bytes: Buffer): Promise<{ title?: string; sections: ParsedSection[] }> {
  // Every complete PDF ends with %%EOF (possibly followed by a little junk); pdf.js would otherwise quietly rebuild
  // what it can from a partial download.
  if (!bytes.subarray(Math.max(0, bytes.length - 16 * 1024)).includes('%%EOF')) {
    throw new ParseError('corrupt', 'The PDF appears to be truncated (its end-of-file marker is missing); upload the complete file.');
  }
  const { getDocumentProxy } = await import('unpdf');
  let doc: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false, stopAtErrors: false });
  } catch (e) {
    const name = (e as Error | undefined)?.name;
    if (name === 'PasswordException') {
      throw new ParseError('corrupt', 'The PDF is password-protected (encrypted); remove the password and upload it again.', { cause: e });
    }
    throw new ParseError('corrupt', `The PDF is damaged and could not be read (${reason(e)}).`, { cause: e });
  }
  try {
    let title: string | undefined;
    try {
      const meta = await doc.getMetadata();
      const t = (meta.info as Record<string, unknown> | undefined)?.Title;
      if (typeof t === 'string' && collapse(t) !== '') title = collapse(t);
    } catch {
      // Metadata is optional.
    }
    const sections: ParsedSection[] = [];
    for (let page = 1; page <= doc.numPages; page++) {
      let raw = '';
      try {
        const content = await (await doc.getPage(page)).getTextContent();
        for (const item of content.items) {
          if ('str' in item) raw += item.str + (item.hasEOL ? '\n' : '');
        }
      } catch (e) {
        throw new ParseError('corrupt', `Page ${page} of the PDF is damaged and could not be read (${reason(e)}).`, { cause: e });
      }
      const text = tidy(
        raw
          .replaceAll('\u0000', '')
          .split('\n')
          .map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim())
          .join('\n'),
      );
      if (text !== '') sections.push({ text, headingPath: [], page });
    }
    return { ...(title ? { title } : {}), sections };
  } finally {
    await doc.destroy().catch(() => undefined);
  }
}

// ----------------------------------------------------------------------------------------------------------- DOCX

async function parseDocx(bytes: Buffer): Promise<{ title?: string; sections: ParsedSection[] }> {
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: bytes },
      {
        styleMap: ["p[style-name='Title'] => h1:fresh", "p[style-name='Subtitle'] => p:fresh"],
        // Keep images' alt text, not their bytes.
        convertImage: mammoth.images.imgElement(() => Promise.resolve({ src: '' })),
        externalFileAccess: false,
      },
    );
    html = result.value;
  } catch (e) {
    throw new ParseError('corrupt', `The Word document is damaged and could not be read (${reason(e)}).`, { cause: e });
  }
  return parseHtml(`<!DOCTYPE html><html><body>${html}</body></html>`);
}
