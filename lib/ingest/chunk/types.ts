/** Options and result of `chunkDocument` (see ./index.ts). */

export interface ChunkOptions {
  /** Maximum tokens per chunk, 16..8192. */
  chunkSize: number;
  /** Tokens repeated from the end of the previous chunk of the same section, 0 <= chunkOverlap < chunkSize / 2. */
  chunkOverlap: number;
  /** Pack consecutive short sections into one chunk (default true). */
  combineSections?: boolean;
  /** A packed chunk takes no further section once it holds this many tokens (default `chunkSize`: pack while it fits). */
  combineUnder?: number;
}

export interface DocumentChunk {
  /** 0..n-1 in document order. */
  ordinal: number;
  /** The chunk, verbatim from the section (trimmed); no heading prefix (see `contextualText`). */
  text: string;
  headingPath: string[];
  page: number | null;
  /** Character offsets into `documentText(doc)`. */
  startOffset: number;
  endOffset: number;
  /** `estimateTokens(text)`, always <= chunkSize. */
  tokens: number;
  /** sha256 hex of `headingPath.join('\u001f') + '\u0000' + text`. */
  contentHash: string;
}

export const MIN_CHUNK_SIZE = 16;
export const MAX_CHUNK_SIZE = 8192;

/** Throws a RangeError unless 16 <= chunkSize <= 8192 and 0 <= chunkOverlap < chunkSize / 2 (both integers). */
export function validateChunkOptions(opts: ChunkOptions): void {
  const { chunkSize, chunkOverlap } = opts;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(
      `chunkSize must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} tokens, got ${String(chunkSize)}`,
    );
  }
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap >= chunkSize / 2) {
    throw new RangeError(
      `chunkOverlap must be an integer from 0 to less than half of chunkSize (${chunkSize}), got ${String(chunkOverlap)}`,
    );
  }
}
