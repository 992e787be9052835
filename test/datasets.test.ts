import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDatasetsCommand } from '../bin/datasets';
import { datasetVersion, loadDatasetItems } from '../lib/evals/datasets-store';
import { setupTestContext, startTestApi, type TestContext } from './harness';
import { ingestCorpus } from './rag-fixtures';

// Eval datasets (issue 19 item 1): items with stable ids across immutable versions; edits, JSON lines and CSV imports
// make new versions; exports round-trip byte for byte; past request answers (never eval or replay answers) become
// items; viewers read only; another tenant's dataset is missing and its answers unknown; the CLI sees the same.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers, read field by field

let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let viewerKey = '';
let other: { id: string; key: string };

beforeAll(async () => {
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  const created = await api.request('POST', '/v1/keys', { key: ctx.tenant.key, body: { name: 'v', role: 'viewer' } });
  expect(created.status).toBe(201);
  viewerKey = created.body!.key as string;
  other = await ctx.addTenant('admin');
});
afterAll(() => ctx?.close());

const call = (method: string, path: string, body?: unknown, key = ctx.tenant.key) =>
  api.request(method, path, { key, body }) as Promise<{ status: number; body: Json }>;

async function raw(method: string, path: string, body: string, contentType: string, key = ctx.tenant.key) {
  const res = await fetch(api.base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
}

async function exported(id: string, query = '') {
  const res = await fetch(`${api.base}/v1/datasets/${id}/export${query}`, {
    headers: { authorization: `Bearer ${ctx.tenant.key}` },
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    disposition: res.headers.get('content-disposition'),
    text: await res.text(),
  };
}

const itemsOf = async (id: string, version?: number) =>
  (await call('GET', `/v1/datasets/${id}/items?limit=1000${version ? `&version=${version}` : ''}`)).body;

describe('a dataset and its versions', () => {
  let id: string;

  it('is created as version 1, assigning ids to items given without one', async () => {
    const res = await call('POST', '/v1/datasets', {
      name: 'basics',
      description: 'first cases',
      items: [
        {
          question: 'What is the default pickle protocol?',
          expected_answer: 'Protocol 5',
          gold_sources: ['pickle.md'],
        },
        { id: 'custom', question: 'What does asyncio.gather return?', expectedFacts: ['a list of results'] },
        { question: 'Is pickle secure?', metadata: { topic: 'security' } },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    id = res.body.id;
    expect(res.body).toMatchObject({ name: 'basics', description: 'first cases', version: 1, latestVersion: 1 });
    expect(res.body.versions).toEqual([expect.objectContaining({ version: 1, itemCount: 3 })]);

    const page = await itemsOf(id);
    expect(page).toMatchObject({ datasetId: id, name: 'basics', version: 1, itemCount: 3 });
    expect(page.items).toEqual([
      {
        id: 'item-1',
        question: 'What is the default pickle protocol?',
        expectedAnswer: 'Protocol 5',
        goldSources: ['pickle.md'],
      },
      { id: 'custom', question: 'What does asyncio.gather return?', expectedFacts: ['a list of results'] },
      { id: 'item-2', question: 'Is pickle secure?', metadata: { topic: 'security' } },
    ]);
    expect((await call('GET', `/v1/datasets/${id}/items?offset=1&limit=1`)).body.items.map((i: Json) => i.id)).toEqual([
      'custom',
    ]);

    const list = (await call('GET', '/v1/datasets')).body.datasets as Json[];
    expect(list.find((d) => d.id === id)).toMatchObject({ name: 'basics', latestVersion: 1, itemCount: 3 });
    const clash = await call('POST', '/v1/datasets', { name: 'basics', items: [] });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('dataset_exists');
  });

  it('makes a new version on every edit; ids stay, the old version is unchanged', async () => {
    const res = await call('POST', `/v1/datasets/${id}/versions`, {
      note: 'sharper answers',
      update: [{ id: 'custom', question: 'What does asyncio.gather return?', expectedAnswer: 'A list' }],
      remove: ['item-2'],
      add: [{ question: 'When was asyncio.timeout added?' }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version).toBe(2);
    expect(res.body.versions.map((v: Json) => [v.version, v.itemCount, v.note])).toEqual([
      [2, 3, 'sharper answers'],
      [1, 3, ''],
    ]);
    // A new item never takes a removed item's id.
    expect((await itemsOf(id)).items.map((i: Json) => i.id)).toEqual(['item-1', 'custom', 'item-3']);
    expect((await itemsOf(id)).items[1]).toEqual({
      id: 'custom',
      question: 'What does asyncio.gather return?',
      expectedAnswer: 'A list',
    });
    const v1 = await itemsOf(id, 1);
    expect(v1.items.map((i: Json) => i.id)).toEqual(['item-1', 'custom', 'item-2']);
    expect(v1.items[1].expectedFacts).toEqual(['a list of results']);

    // What the eval-run activities call.
    const em = ctx.orm.em.fork();
    expect(await datasetVersion(em, ctx.tenant.id, id)).toEqual({
      datasetId: id,
      name: 'basics',
      version: 2,
      itemCount: 3,
    });
    expect(await datasetVersion(em, ctx.tenant.id, id, 1)).toMatchObject({ version: 1, itemCount: 3 });
    expect(await datasetVersion(em, other.id, id)).toBeNull();
    const page = await loadDatasetItems(em, ctx.tenant.id, { datasetId: id, version: 1 }, { offset: 2, limit: 5 });
    expect(page.map((i) => i.id)).toEqual(['item-2']);

    const bad = await call('POST', `/v1/datasets/${id}/versions`, { update: [{ id: 'nope', question: 'q' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'unknown_item_ids', details: { ids: ['nope'] } });
    const clash = await call('POST', `/v1/datasets/${id}/versions`, { add: [{ id: 'custom', question: 'q' }] });
    expect(clash.body.error.code).toBe('duplicate_item_ids');
    const badItem = await call('POST', `/v1/datasets/${id}/versions`, { items: [{ question: '' }] });
    expect(badItem.status).toBe(400);
    expect(badItem.body.error.message).toMatch(/^items\.0: question/);

    const replaced = await call('POST', `/v1/datasets/${id}/versions`, {
      items: [{ id: 'only', question: 'Just one' }],
    });
    expect(replaced.body).toMatchObject({ version: 3, itemCount: 1 });
    expect((await call('GET', `/v1/datasets/${id}/items?version=9`)).status).toBe(404);
  });

  it('renames and deletes', async () => {
    const renamed = await call('PATCH', `/v1/datasets/${id}`, { name: 'basics renamed', description: '' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'basics renamed', description: '', latestVersion: 3 });
    await call('POST', '/v1/datasets', { name: 'taken', items: [] });
    expect((await call('PATCH', `/v1/datasets/${id}`, { name: 'taken' })).status).toBe(409);
    expect((await call('DELETE', `/v1/datasets/${id}`)).status).toBe(204);
    expect((await call('GET', `/v1/datasets/${id}`)).status).toBe(404);
    expect((await call('GET', `/v1/datasets/${id}/items`)).status).toBe(404);
  });
});

describe('import and export', () => {
  let id: string;

  it('imports JSON lines and CSV as new versions (replace, or append by id)', async () => {
    id = (await call('POST', '/v1/datasets', { name: 'imports', items: [{ id: 'a', question: 'Old a' }] })).body.id;
    const jsonl = [
      '{"id":"a","question":"New a","expected_answer":"A"}',
      '{"question":"Unnamed","goldSources":["x.md"]}',
      '',
    ].join('\n');
    const one = await raw('POST', `/v1/datasets/${id}/import`, jsonl, 'application/x-ndjson');
    expect(one.status, JSON.stringify(one.body)).toBe(201);
    expect(one.body).toMatchObject({ version: 2, itemCount: 2 });
    expect((await itemsOf(id)).items).toEqual([
      { id: 'a', question: 'New a', expectedAnswer: 'A' },
      { id: 'item-1', question: 'Unnamed', goldSources: ['x.md'] },
    ]);

    const csv =
      'id,question,expected_facts,gold_sources\nb,"B, with ""quotes""",fact 1|fact 2,"[""y.md""]"\na,Newer a,,\n';
    const two = await raw('POST', `/v1/datasets/${id}/import?mode=append&note=more`, csv, 'text/csv');
    expect(two.status, JSON.stringify(two.body)).toBe(201);
    expect(two.body.versions[0]).toMatchObject({ version: 3, itemCount: 3, note: 'more' });
    expect((await itemsOf(id)).items).toEqual([
      { id: 'a', question: 'Newer a' },
      { id: 'item-1', question: 'Unnamed', goldSources: ['x.md'] },
      { id: 'b', question: 'B, with "quotes"', expectedFacts: ['fact 1', 'fact 2'], goldSources: ['y.md'] },
    ]);

    // The same file inside JSON, for clients that only send JSON; text/plain needs ?format.
    const three = await call('POST', `/v1/datasets/${id}/import`, { format: 'csv', content: csv });
    expect(three.body).toMatchObject({ version: 4, itemCount: 2 });
    expect((await raw('POST', `/v1/datasets/${id}/import`, csv, 'text/plain')).body.error.code).toBe('format_required');
    expect((await raw('POST', `/v1/datasets/${id}/import?format=csv`, csv, 'text/plain')).status).toBe(201);
    expect((await raw('POST', `/v1/datasets/${id}/import`, csv, 'application/xml')).status).toBe(415);
  });

  it('refuses a bad line with its number, and makes no version', async () => {
    const before = (await call('GET', `/v1/datasets/${id}`)).body.latestVersion;
    const csv = 'id,question\nok,Fine\n"two\nlines",Fine too\nbad,"unclosed\n';
    const res = await raw('POST', `/v1/datasets/${id}/import`, csv, 'text/csv');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^line 5:/);
    expect(res.body.error.details).toMatchObject({ line: 5 });

    const missing = await raw('POST', `/v1/datasets/${id}/import`, 'id,question\nx,\n', 'text/csv');
    expect(missing.body.error).toMatchObject({ code: 'invalid_dataset_item', details: { line: 2, field: 'question' } });
    const jsonl = await raw(
      'POST',
      `/v1/datasets/${id}/import`,
      '{"question":"q"}\n{"question":1}\n',
      'application/jsonl',
    );
    expect(jsonl.body.error.message).toMatch(/^line 2: question/);
    const nul = await raw('POST', `/v1/datasets/${id}/import`, 'question\nnul \u0000 here\n', 'text/csv');
    expect(nul.body.error.code).toBe('invalid_characters');
    const escaped = await raw(
      'POST',
      `/v1/datasets/${id}/import`,
      '{"question":"a \\u0000 b"}\n',
      'application/x-ndjson',
    );
    expect(escaped.body.error).toMatchObject({ code: 'invalid_dataset_item', details: { line: 1 } });
    expect((await call('GET', `/v1/datasets/${id}`)).body.latestVersion).toBe(before);
  });

  it('exports a version as a file that imports and exports to the same bytes', async () => {
    for (const format of ['jsonl', 'csv'] as const) {
      const first = await exported(id, `?format=${format}&version=3`);
      expect(first.status).toBe(200);
      expect(first.type).toBe(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
      expect(first.disposition).toBe(`attachment; filename="imports-v3.${format}"`);
      const copy = await call('POST', '/v1/datasets', { name: `copy ${format}`, items: [] });
      const imported = await raw(
        'POST',
        `/v1/datasets/${copy.body.id}/import?format=${format}`,
        first.text,
        format === 'csv' ? 'text/csv' : 'application/x-ndjson',
      );
      expect(imported.status).toBe(201);
      expect((await exported(copy.body.id, `?format=${format}`)).text).toBe(first.text);
    }
    const jsonl = await exported(id, '?version=3');
    expect(
      jsonl.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual((await itemsOf(id, 3)).items);
  });
});

describe('from past answers', () => {
  let collectionId: string;
  const answers: Json[] = [];

  beforeAll(async () => {
    await ctx.startWorker();
    collectionId = await ingestCorpus(ctx, api);
    for (const question of [
      'What is the default pickle protocol in Python 3.11?',
      'What does asyncio.gather return?',
      'Who won the football world cup in 1998?',
    ]) {
      const res = await call('POST', '/v1/answers?wait=true', { question, collectionIds: [collectionId] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      answers.push(res.body);
    }
    expect(answers.map((a) => a.status)).toEqual(['answered', 'answered', 'abstained']);
  }, 180_000);

  it('builds a dataset from chosen answers: question, answer, cited sources', async () => {
    const [pickle, , worldCup] = answers as [Json, Json, Json];
    const res = await call('POST', '/v1/datasets/from-answers', {
      name: 'from answers',
      answerIds: [pickle.id, worldCup.id],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.versions[0]).toMatchObject({ version: 1, itemCount: 2, note: 'from 2 past answers' });
    const { items } = await itemsOf(res.body.id);
    expect(items).toEqual([
      {
        id: `answer-${pickle.id}`,
        question: pickle.question,
        expectedAnswer: pickle.answer,
        goldSources: [...new Set((pickle.result.citations as Json[]).map((c) => c.source))],
        sourceAnswerId: pickle.id,
      },
      { id: `answer-${worldCup.id}`, question: worldCup.question, sourceAnswerId: worldCup.id },
    ]);
    expect(items[0].goldSources).toEqual(['pickle.md']);

    // Into the same dataset again: a new version, the answer already there replaced in place, the new one appended.
    const again = await call('POST', '/v1/datasets/from-answers', {
      datasetId: res.body.id,
      answerIds: [answers[1]!.id, pickle.id],
    });
    expect(again.body).toMatchObject({ version: 2, itemCount: 3 });
    expect((await itemsOf(res.body.id)).items.map((i: Json) => i.sourceAnswerId)).toEqual([
      pickle.id,
      worldCup.id,
      answers[1]!.id,
    ]);
  });

  it('builds one by filter, leaving out eval and replay answers', async () => {
    const evalId = randomUUID();
    const result = {
      status: 'answered',
      citations: [{ collectionId, source: 'pickle.md' }],
    };
    await ctx.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into answers (id, tenant_id, workflow_id, question, status, answer, result, origin, completed_at)
         values (?, ?, ?, 'An eval question', 'answered', 'Eval text', ?::jsonb, 'eval', now())`,
        [evalId, ctx.tenant.id, `answer:${ctx.tenant.id}:${evalId}`, JSON.stringify(result)],
      );
    const res = await call('POST', '/v1/datasets/from-answers', {
      name: 'answered ones',
      filter: { status: 'answered', collectionId, since: new Date(Date.now() - 3_600_000).toISOString() },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { items } = await itemsOf(res.body.id);
    expect(items.map((i: Json) => i.sourceAnswerId)).toEqual([answers[0]!.id, answers[1]!.id]);
    expect(items.every((i: Json) => i.expectedAnswer)).toBe(true);

    const abstained = await call('POST', '/v1/datasets/from-answers', {
      name: 'abst',
      filter: { status: 'abstained' },
    });
    expect((await itemsOf(abstained.body.id)).items.map((i: Json) => i.sourceAnswerId)).toEqual([answers[2]!.id]);
    const limited = await call('POST', '/v1/datasets/from-answers', { name: 'newest', filter: { limit: 1 } });
    expect((await itemsOf(limited.body.id)).items.map((i: Json) => i.sourceAnswerId)).toEqual([answers[2]!.id]);
    const none = await call('POST', '/v1/datasets/from-answers', {
      name: 'none',
      filter: { until: '2000-01-01T00:00:00Z' },
    });
    expect(none.body.error.code).toBe('no_matching_answers');

    // By id, an eval answer reads as unknown.
    const byId = await call('POST', '/v1/datasets/from-answers', { name: 'with eval', answerIds: [evalId] });
    expect(byId.status).toBe(400);
    expect(byId.body.error).toMatchObject({ code: 'unknown_answers', details: { ids: [evalId] } });
  });

  it('treats another tenant’s answers as unknown ones', async () => {
    const made = randomUUID();
    const res = await call(
      'POST',
      '/v1/datasets/from-answers',
      { name: 'stolen', answerIds: [answers[0]!.id, made] },
      other.key,
    );
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'unknown_answers', details: { ids: [answers[0]!.id, made] } });
    expect(res.body.error.message).toBe(`No answers with these ids: ${answers[0]!.id}, ${made}.`);
  });
});

describe('who may do what', () => {
  it('viewers read but do not write; another tenant’s dataset is missing', async () => {
    const made = await call('POST', '/v1/datasets', { name: 'guarded', items: [{ question: 'q' }] });
    const id = made.body.id as string;
    expect((await call('GET', '/v1/datasets', undefined, viewerKey)).status).toBe(200);
    expect((await call('GET', `/v1/datasets/${id}/items`, undefined, viewerKey)).status).toBe(200);
    expect((await exported(id)).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/v1/datasets', { name: 'x', items: [] }],
      ['POST', '/v1/datasets/from-answers', { name: 'x', answerIds: [randomUUID()] }],
      ['PATCH', `/v1/datasets/${id}`, { name: 'x' }],
      ['DELETE', `/v1/datasets/${id}`, undefined],
      ['POST', `/v1/datasets/${id}/versions`, { items: [] }],
      ['POST', `/v1/datasets/${id}/import`, { format: 'jsonl', content: '' }],
    ] as const) {
      const res = await call(method, path, body, viewerKey);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    for (const [method, path, body] of [
      ['GET', `/v1/datasets/${id}`, undefined],
      ['GET', `/v1/datasets/${id}/items`, undefined],
      ['GET', `/v1/datasets/${id}/export`, undefined],
      ['PATCH', `/v1/datasets/${id}`, { name: 'mine now' }],
      ['DELETE', `/v1/datasets/${id}`, undefined],
      ['POST', `/v1/datasets/${id}/versions`, { items: [] }],
      ['POST', `/v1/datasets/${id}/import`, { format: 'jsonl', content: '{"question":"q"}' }],
      ['POST', `/v1/datasets/${id}/import`, {}],
      ['POST', `/v1/datasets/${id}/versions`, {}],
      ['POST', '/v1/datasets/from-answers', { datasetId: id, answerIds: [randomUUID()] }],
    ] as const) {
      const res = await call(method, path, body, other.key);
      expect(res.status, `${method} ${path}`).toBe(path.endsWith('from-answers') ? 400 : 404);
    }
    expect(((await call('GET', '/v1/datasets', undefined, other.key)).body.datasets as Json[]).length).toBe(0);
    expect((await call('GET', '/v1/datasets/not-a-uuid')).status).toBe(404);
    expect((await call('GET', `/v1/datasets/${id}/items?version=99999999999`)).status).toBe(400);
    expect((await call('GET', `/v1/datasets/${id}/items?version=2147483647`)).status).toBe(404);
    expect((await call('GET', `/v1/datasets/${id}`)).body.latestVersion).toBe(1);
  });
});

describe('the CLI', () => {
  async function cli(...args: string[]): Promise<string> {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const program = new Command().exitOverride();
    const client = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await call(method, path, body);
      if (res.status >= 400) throw new Error(`${res.body.error.message} (${res.body.error.code})`);
      return res.body as T;
    };
    registerDatasetsCommand(program, client, (m) => new Error(m));
    try {
      await program.parseAsync(['datasets', ...args], { from: 'user' });
    } finally {
      log.mockRestore();
    }
    return out.join('\n');
  }

  it('creates from a file and exports the same file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'datasets-cli-'));
    const jsonl = [
      { id: 'q1', question: 'What is the default pickle protocol?', expectedAnswer: 'Protocol 5' },
      { id: 'q2', question: 'Is pickle secure?', expectedFacts: ['not secure'], goldSources: ['pickle.md'] },
    ]
      .map((i) => JSON.stringify(i) + '\n')
      .join('');
    await writeFile(join(dir, 'cases.jsonl'), jsonl);
    expect(await cli('create', 'cli cases', '--file', join(dir, 'cases.jsonl'))).toMatch(
      /^cli cases: version 1, 2 items/,
    );
    expect(await cli('list')).toMatch(/cli cases\s+1\s+2/);
    await cli('export', 'cli cases', '--out', join(dir, 'out.jsonl'));
    expect(await readFile(join(dir, 'out.jsonl'), 'utf8')).toBe(jsonl);

    await cli('export', 'cli cases', '--format', 'csv', '--out', join(dir, 'out.csv'));
    const csv = await readFile(join(dir, 'out.csv'), 'utf8');
    const id = ((await call('GET', '/v1/datasets')).body.datasets as Json[]).find((d) => d.name === 'cli cases')!.id;
    expect((await exported(id, '?format=csv')).text).toBe(csv);
    expect(await cli('import', 'cli cases', '--file', join(dir, 'out.csv'), '--append')).toMatch(/version 2, 2 items/);
    expect(await cli('show', 'cli cases')).toContain('q2');
    await expect(cli('show', 'no such')).rejects.toThrow(/No dataset "no such"/);
  });
});
