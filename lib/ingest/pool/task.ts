import { chunkDocument, type ChunkOptions, type DocumentChunk } from '../chunk';
import { parseDocument, ParseError } from '../parse';

/** One document to parse and chunk, as a pool thread receives it (structured-cloned; the bytes transferred). */
export interface ParseTask {
  bytes: Uint8Array;
  filename: string;
  mimeType?: string;
  chunking: ChunkOptions;
}

/** The chunks and title, or why the document cannot be read (a ParseError does not survive the thread boundary). */
export type ParseOutcome =
  { ok: true; title: string | null; chunks: DocumentChunk[] } | { ok: false; code: string; message: string };

/** Parse → chunk: pure CPU work, the same on a pool thread or inline. */
export default async function parseAndChunk(task: ParseTask): Promise<ParseOutcome> {
  try {
    const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
    const parsed = await parseDocument({ bytes, filename: task.filename, mimeType: task.mimeType });
    return { ok: true, title: parsed.title ?? null, chunks: chunkDocument(parsed, task.chunking) };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}
