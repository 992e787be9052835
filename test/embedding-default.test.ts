import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../lib/process/ports';
import { setupTestContext, spawnApiProcess, type TestContext } from './harness';

// The API process alone, as a deployment runs it (api/server.ts, no launcher): it decides the embedding model of new
// collections the way `npm start` does (test/start.test.ts), with the same function (resolveEmbeddingModel).
let ctx: TestContext;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ctx = await setupTestContext();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await ctx?.close();
});

/** api/server.ts on the shared Temporal and database; `done` resolves when it listens or exits. */
function startApi(env: NodeJS.ProcessEnv) {
  const api = spawnApiProcess(ctx, env);
  children.push(api.child);
  return api;
}

const unreachableModels = async (): Promise<NodeJS.ProcessEnv> => ({
  LOCAL_MODELS_DIR: await mkdtemp(join(inject('tmpDir'), 'models-')),
  LOCAL_MODELS_MAVEN_URL: `http://127.0.0.1:${await freePort()}/maven2`,
  LLM_MODEL_EMBEDDING: '',
});

const createCollection = async (url: string, name: string) => {
  const res = await fetch(`${url}/v1/collections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.tenant.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { embeddingModel: string; embeddingDim: number };
};

describe('the API process alone: the embedding model of new collections', () => {
  it('is the semantic model when its files are there', async () => {
    const api = startApi({ LLM_MODEL_EMBEDDING: '' });
    const { url } = await api.done;
    expect(url, api.output()).toBeDefined();
    expect(await createCollection(url!, 'api-semantic')).toMatchObject({ embeddingModel: 'local-minilm-l6' });
    expect(api.output()).not.toContain('hashing embedder');
    api.child.kill('SIGTERM');
  });

  it('falls back to the hashing embedder with one warning line when the files cannot be fetched', async () => {
    const api = startApi(await unreachableModels());
    const { url } = await api.done;
    expect(url, api.output()).toBeDefined();
    const lines = api
      .output()
      .split('\n')
      .filter((l) => l.includes('hashing embedder'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 40, // warn
      msg: expect.stringMatching(
        /^new collections use the hashing embedder local-embed-384 \(lexical, not semantic\): .*ECONNREFUSED.*npm run models.*then restart$/,
      ),
    });
    expect(await createCollection(url!, 'api-fallback')).toMatchObject({
      embeddingModel: 'local-embed-384',
      embeddingDim: 384,
    });
    api.child.kill('SIGTERM');
  });

  it('refuses to start when LLM_MODEL_EMBEDDING names the semantic model and it cannot be fetched', async () => {
    const api = startApi({ ...(await unreachableModels()), LLM_MODEL_EMBEDDING: 'local-minilm-l6' });
    expect(await api.done).toEqual({ code: 1 });
    expect(api.output()).toMatch(
      /^api: config: LLM_MODEL_EMBEDDING is local-minilm-l6, but its files cannot be fetched \(.*ECONNREFUSED.*\); run `npm run models` /m,
    );
  });
});
