/**
 * The local provider's semantic embedder: a BERT sentence encoder (all-MiniLM-L6-v2, int8 ONNX, 384 dimensions)
 * run in-process by onnxruntime-node, with its own WordPiece tokenizer (@huggingface/tokenizers, pure JS).
 * The model files come from ../local-models.ts (cache, else a pinned download).
 *
 * Per text: WordPiece ids `[CLS] … [SEP]`, truncated to `maxTokens` (128, the artifact's setting) keeping `[SEP]`
 * last; the encoder's last hidden state mean-pooled over the real (unpadded) tokens; L2-normalised, so the cosine
 * similarity of two vectors is their dot product. That is sentence-transformers' recipe for this model.
 *
 * One text per session run: the int8 model quantises its activations per tensor (DynamicQuantizeLinear), so in a
 * padded batch a text's vector would depend on its neighbours (cosine 0.98 instead of 1 here). Alone it is exact,
 * and on this model it is as fast (256 texts: 3.2 s one by one, 4.6 s in batches of 32, one thread). Runs go to
 * onnxruntime's threads (`threads` per run, default 1; concurrent activities run in parallel), so the event loop
 * stays free. Usage counts real word pieces.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { InferenceSession } from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import { throwIfAborted } from '../errors';
import type { LocalModelFiles, LocalModelSpec } from '../local-models';

export interface MiniLmOptions {
  spec: LocalModelSpec;
  /** Resolves the model files (cache or download); called once, on first use. */
  files: () => Promise<LocalModelFiles>;
  /** onnxruntime intra-op threads per run (default 1). */
  threads?: number;
}

interface Loaded {
  session: InferenceSession;
  tokenizer: Tokenizer;
  ort: typeof import('onnxruntime-node');
}

export class MiniLmEmbedder {
  private loading?: Promise<Loaded>;

  constructor(private readonly opts: MiniLmOptions) {}

  get model(): string {
    return this.opts.spec.model;
  }

  get dimensions(): number {
    return this.opts.spec.dimensions;
  }

  /** Loads the model (once; a failed load is retried on the next call). */
  load(): Promise<Loaded> {
    this.loading ??= (async () => {
      const files = await this.opts.files();
      const [ort, tokenizerJson] = await Promise.all([import('onnxruntime-node'), readFile(files.tokenizer, 'utf8')]);
      const tokenizer = new Tokenizer(JSON.parse(tokenizerJson) as object, {
        do_lower_case: true,
        model_max_length: 512,
      });
      const session = await ort.InferenceSession.create(files.onnx, {
        intraOpNumThreads: this.opts.threads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      return { session, tokenizer, ort };
    })().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  /** Word-piece ids of one text, `[CLS] … [SEP]`, truncated to maxTokens with `[SEP]` kept last. */
  private ids(tokenizer: Tokenizer, text: string): number[] {
    const ids = tokenizer.encode(text).ids;
    const max = this.opts.spec.maxTokens;
    if (ids.length <= max) return ids;
    return [...ids.slice(0, max - 1), ids[ids.length - 1]!];
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<{ vectors: number[][]; tokens: number }> {
    throwIfAborted(signal);
    const { session, tokenizer, ort } = await this.load();
    const encoded = texts.map((t) => this.ids(tokenizer, t));
    const tokens = encoded.reduce((n, ids) => n + ids.length, 0);
    const dim = this.opts.spec.dimensions;
    const vectors: number[][] = [];
    for (const ids of encoded) {
      throwIfAborted(signal);
      const len = ids.length;
      const shape = [1, len];
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), shape),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(len).fill(1n), shape),
      };
      if (session.inputNames.includes('token_type_ids'))
        feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(len), shape);
      const out = await session.run(feeds);
      const hidden = out[session.outputNames[0]!]!;
      if (hidden.dims[2] !== dim)
        throw new Error(`${this.model}: the encoder returned ${String(hidden.dims[2])} dimensions, expected ${dim}`);
      const data = hidden.data as Float32Array;
      // Mean over the tokens, then L2 normalisation.
      const v = new Float64Array(dim);
      for (let t = 0; t < len; t++) for (let d = 0; d < dim; d++) v[d]! += data[t * dim + d]!;
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += v[d]! * v[d]!;
      norm = Math.sqrt(norm) || 1;
      vectors.push(Array.from(v, (x) => x / norm));
    }
    return { vectors, tokens };
  }

  /** Releases the session (the worker's shutdown). */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (loading) await (await loading.catch(() => null))?.session.release();
  }
}
