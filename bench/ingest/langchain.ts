/**
 * The peer pipeline of bench/ingest: what a user would otherwise pick in Node, LangChain.js, in its idiomatic form
 * for local HTML files. Its packages live in this folder's own node_modules (bench/ingest/package.json, installed
 * with `npm i --legacy-peer-deps` here) because their peers conflict with the project's openai 6.
 *
 *   load       TextLoader (@langchain/classic/document_loaders/fs/text), one per file: the raw HTML as a Document
 *   transform  HtmlToTextTransformer (@langchain/community/document_transformers/html_to_text, html-to-text defaults)
 *   split      RecursiveCharacterTextSplitter (@langchain/textsplitters), chunkSize/chunkOverlap in characters
 *   store      PGVectorStore (@langchain/community/vectorstores/pgvector) over `pg`: addDocuments embeds every text
 *              and inserts 500 rows per INSERT statement
 *
 * The embedder is ours (LocalProvider wrapped as a LangChain `Embeddings`), so both pipelines embed alike.
 */
import { TextLoader } from '@langchain/classic/document_loaders/fs/text';
import { HtmlToTextTransformer } from '@langchain/community/document_transformers/html_to_text';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { Embeddings } from '@langchain/core/embeddings';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import pg from 'pg';
import { LocalProvider } from '../../lib/llm/providers/local';

const EMBED_BATCH = 128;

/** LocalProvider as a LangChain Embeddings; counts the time spent embedding so the store step can be told apart. */
export class LocalEmbeddings extends Embeddings {
  readonly provider: LocalProvider;
  private readonly callOptions: { model: string; timeoutMs: number };
  embedMs = 0;

  constructor(dimensions: number) {
    super({});
    this.provider = new LocalProvider({ dimensions });
    this.callOptions = { model: this.provider.embedModel, timeoutMs: 60_000 };
  }

  override async embedDocuments(texts: string[]): Promise<number[][]> {
    const started = performance.now();
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      out.push(...(await this.provider.embed(texts.slice(i, i + EMBED_BATCH), this.callOptions)).vectors);
    }
    this.embedMs += performance.now() - started;
    return out;
  }

  override async embedQuery(text: string): Promise<number[]> {
    return (await this.provider.embed([text], this.callOptions)).vectors[0]!;
  }
}

export interface PeerResult {
  documents: number;
  chunks: number;
  ms: number;
  stepsMs: { load: number; transform: number; split: number; embed: number; store: number };
  /** A user would add a vector index afterwards; built once the timed pipeline is done, not in `ms`. */
  hnswIndexMs: number;
  rowsInTable: number;
  avgChunkChars: number;
}

export async function runLangChain(opts: {
  databaseUrl: string;
  tableName: string;
  files: string[];
  dimensions: number;
  chunkSize: number;
  chunkOverlap: number;
}): Promise<PeerResult> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });
  const embeddings = new LocalEmbeddings(opts.dimensions);
  let store: PGVectorStore | undefined;
  try {
    // Setup, as our migrations are: the extension and the table (untimed).
    store = await PGVectorStore.initialize(embeddings, {
      pool,
      tableName: opts.tableName,
      dimensions: opts.dimensions,
    });

    const t0 = performance.now();
    const raw = [];
    for (const file of opts.files) raw.push(...(await new TextLoader(file).load()));
    const t1 = performance.now();
    const texts = await new HtmlToTextTransformer().transformDocuments(raw);
    const t2 = performance.now();
    const splitter = new RecursiveCharacterTextSplitter({ chunkSize: opts.chunkSize, chunkOverlap: opts.chunkOverlap });
    const chunks = await splitter.splitDocuments(texts);
    const t3 = performance.now();
    await store.addDocuments(chunks);
    const t4 = performance.now();

    const rowsInTable = Number((await pool.query(`select count(*)::int as n from ${opts.tableName}`)).rows[0].n);
    const i0 = performance.now();
    await pool.query(`create index on ${opts.tableName} using hnsw (embedding vector_cosine_ops)`);
    const hnswIndexMs = performance.now() - i0;

    return {
      documents: raw.length,
      chunks: chunks.length,
      ms: t4 - t0,
      stepsMs: {
        load: t1 - t0,
        transform: t2 - t1,
        split: t3 - t2,
        embed: embeddings.embedMs,
        store: t4 - t3 - embeddings.embedMs,
      },
      hnswIndexMs,
      rowsInTable,
      avgChunkChars: chunks.reduce((a, c) => a + c.pageContent.length, 0) / Math.max(1, chunks.length),
    };
  } finally {
    // end() releases the client initialize() took and ends the pool.
    if (store) await store.end();
    else await pool.end();
  }
}
