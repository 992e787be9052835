/** What the parsers take and give, and the one error they throw. */

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
