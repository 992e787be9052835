import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest } from '../openai-server';
import { CORPUS, ingestCorpus } from '../rag-fixtures';
import { firstPassage } from '../scripted-model';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * Issue 19's loop, done the way a user does it, in real Chromium against the API (a real worker and Temporal):
 * twenty real answers (offline default) → select them on the Answers page → a dataset → from the dataset's page an
 * eval run with the offline default, and another with a different answer prompt version → compare them: the
 * experiment → select the twenty answers again → replay them with the scripted OpenAI-compatible model (the
 * project's test server, speaking the real wire protocol). Every step is a run with its steps and trace: the eval and
 * replay workflows are opened on the Runs pages, and so are the answer runs they started.
 */
let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let adminEmail: string;
let collectionId = '';
const answerIds: string[] = [];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

/** The fixture corpus and two more pages, so that twenty different questions have somewhere to be answered from. */
const LOOP_CORPUS: Record<string, string> = {
  ...CORPUS,
  'pathlib.md': `# pathlib — Object-oriented filesystem paths

The pathlib module offers classes representing filesystem paths with semantics appropriate for different operating systems.

## Pure paths

Pure path objects provide path-handling operations which do not actually access a filesystem. PurePath.suffix is the file extension of the final component.

## Concrete paths

Path.read_text returns the decoded contents of the pointed-to file as a string. Path.mkdir creates a new directory at this given path.
`,
  'functools.md': `# functools — Higher-order functions

The functools module is for higher-order functions: functions that act on or return other functions.

## Caching

functools.lru_cache wraps a function with a memoizing callable that saves up to the maxsize most recent calls. The default maxsize is 128.

## Partial objects

functools.partial returns a new partial object which when called will behave like the function called with the given arguments.
`,
};

const QUESTIONS = [
  'What is the default pickle protocol in Python 3.11?',
  'When was pickle protocol 5 added?',
  'Is the pickle module secure?',
  'What does the pickle module implement?',
  'What does json.dumps do?',
  'What does json.loads do?',
  'Which separators does json.dumps use by default?',
  'What does the indent parameter of json do?',
  'What is asyncio?',
  'What does asyncio.gather return?',
  'In what order does asyncio.gather return results?',
  'When was asyncio.timeout added?',
  'What does asyncio.timeout do?',
  'What does the pathlib module offer?',
  'What is PurePath.suffix?',
  'What does Path.read_text return?',
  'What does Path.mkdir do?',
  'What is the default maxsize of functools.lru_cache?',
  'What does functools.lru_cache do?',
  'What does functools.partial return?',
];

/**
 * The scripted model answers with the sentences of the first passage it is given, cited, so that the replayed
 * answers are grounded in the recorded passages (the grounding check stays the offline one).
 */
function answerFromFirstPassage(r: RecordedRequest): string {
  const { n, text } = firstPassage(r);
  return text ? `${text} [${n}].` : 'The documents do not say.';
}

const call = (method: string, path: string, body?: unknown) =>
  api.request(method, path, { key: ctx.tenant.key, body }) as Promise<{ status: number; body: Json }>;

beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  await ensureConsoleBuilt();
  ctx = await setupTestContext({
    // The OpenAI-compatible provider is there for the replay's model; every default stays offline.
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_MODEL_EMBEDDING: 'local-embed-384',
    LLM_MODEL_ANSWER: 'local-extractive',
    LLM_MODEL_JUDGE: 'local-extractive',
    LLM_MODEL_AGENT: 'local-extractive',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  adminEmail = uniqueEmail('admin');
  const added = await call('POST', '/v1/members', {
    email: adminEmail,
    role: 'admin',
    password: PASSWORD,
    displayName: 'Eval owner',
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  collectionId = await ingestCorpus(ctx, api, { corpus: LOOP_CORPUS });
  // Twenty past answers, asked the way an application asks: through the API, with the tenant's defaults.
  for (const question of QUESTIONS) {
    const res = await call('POST', '/v1/answers?wait=true', { question, collectionIds: [collectionId] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    answerIds.push(res.body.id);
  }
  // A second answer prompt version, labelled: the other setup the eval compares.
  const prompt = await call('POST', '/v1/prompts/answer/versions', {
    text: 'Answer in one or two sentences, only from the numbered passages, citing each sentence like [1]. If they do not answer, say: "The documents do not say."',
    labels: ['candidate'],
  });
  expect(prompt.status, JSON.stringify(prompt.body)).toBe(201);
  server.chat.enqueue(
    ...Array.from({ length: 200 }, () => (r: RecordedRequest) => ({
      reply: { content: answerFromFirstPassage(r) },
    })),
  );
}, 400_000);
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
  await server?.close();
});

async function signIn(page: Page, path: string): Promise<void> {
  await page.goto(`${api.base}${path}`);
  // Once more if the console was being rebuilt (by another test file in the shared working tree) just then.
  await page.waitForURL(/\/sign-in/, { timeout: 15_000 }).catch(() => page.goto(`${api.base}${path}`));
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('email-input').fill(adminEmail);
  await page.getByTestId('password-input').fill(PASSWORD);
  await page.getByTestId('password-submit').click();
  await page.waitForURL((url) => url.pathname === path);
  await page.getByTestId('identity-user').waitFor({ state: 'attached' });
}

/** Fails with the page's error alert when one shows instead of what the test waits for. */
async function noError(page: Page): Promise<void> {
  const alert = page.getByTestId('error');
  if (await alert.count()) throw new Error(`the page shows an error: ${await alert.first().textContent()}`);
}

/** Selects exactly the twenty answers on the Answers page (select all shown: there are no others). */
async function selectTheAnswers(page: Page): Promise<void> {
  await page.goto(`${api.base}/answers`);
  await expect.poll(() => page.getByTestId('answer-row').count()).toBe(QUESTIONS.length);
  await page.getByTestId('answer-select-all').check();
  for (const id of answerIds)
    expect(await page.locator(`[data-answer-id="${id}"] [data-testid=answer-select]`).isChecked()).toBe(true);
}

/** Opens a workflow's run page and checks it is the run named, with its steps and its trace. */
async function expectRunWithTrace(page: Page, href: string, heading: RegExp): Promise<void> {
  await page.goto(`${api.base}${href}`);
  await expect.poll(() => page.getByTestId('run-heading').textContent()).toMatch(heading);
  await page.getByTestId('waterfall').waitFor();
  await noError(page);
}

/** Starts an eval from the dataset's page ("Run an eval"), follows it to completion, returns its id. */
async function runEval(page: Page, datasetId: string, name: string, answerPrompt?: string): Promise<string> {
  await page.goto(`${api.base}/datasets/${datasetId}`);
  await page.getByTestId('dataset-run-eval').click();
  await page.waitForURL(/\/evals\?datasetId=/);
  await expect.poll(() => page.getByTestId('eval-dataset').inputValue()).toBe(datasetId);
  await page.getByTestId('eval-name').fill(name);
  await page.locator(`[data-testid=eval-collection][value="${collectionId}"]`).check();
  if (answerPrompt) await page.getByTestId('eval-prompt-answer').fill(answerPrompt);
  await page.getByTestId('eval-submit').click();
  await page.waitForURL(/\/evals\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop()!;
  await expect
    .poll(async () => (await noError(page), page.getByTestId('eval-run-status').textContent()), { timeout: 240_000 })
    .toMatch(/completed/i);
  await expect.poll(() => page.getByTestId('eval-item').count()).toBe(QUESTIONS.length);
  return id;
}

it('dataset from 20 past answers, two evals, their experiment and a replay with the scripted model', async () => {
  const context: BrowserContext = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await signIn(page, '/answers');

    // 1. The twenty answers become a dataset.
    await selectTheAnswers(page);
    await page.getByTestId('dataset-add-name').fill('twenty production questions');
    await page.getByTestId('dataset-add-submit').click();
    await page.getByTestId('dataset-add-notice').waitFor();
    await page.getByTestId('dataset-add-link').click();
    await page.waitForURL(/\/datasets\/[0-9a-f-]{36}$/);
    const datasetId = page.url().split('/').pop()!;
    await expect.poll(() => page.getByTestId('dataset-item').count()).toBe(QUESTIONS.length);
    const items = (await call('GET', `/v1/datasets/${datasetId}/items?limit=100`)).body.items as Json[];
    expect(items.map((i) => i.sourceAnswerId).sort()).toEqual([...answerIds].sort());
    expect(items.map((i) => i.question).sort()).toEqual([...QUESTIONS].sort());
    await saveScreenshot(page, 'loop-dataset');

    // 2. An eval with the offline default (the shipped prompts), another with the candidate answer prompt.
    const baselineId = await runEval(page, datasetId, 'offline default');
    expect(await page.getByTestId('eval-prompts').textContent()).toMatch(/answer v1/);
    const candidateId = await runEval(page, datasetId, 'candidate prompt', 'candidate');
    expect(await page.getByTestId('eval-prompts').textContent()).toMatch(/answer v2/);
    await saveScreenshot(page, 'loop-eval');
    for (const id of [baselineId, candidateId]) {
      const run = (await call('GET', `/v1/evals/${id}`)).body;
      expect(run).toMatchObject({ status: 'completed', dataset: { id: datasetId, version: 1 } });
      expect(run.aggregate.items).toBe(QUESTIONS.length);
    }
    // The eval run is a run with its steps and trace, and so is each item's answer run.
    const evalRun = (await call('GET', `/v1/evals/${candidateId}`)).body;
    await expectRunWithTrace(page, `/runs/${encodeURIComponent(evalRun.workflowId)}`, /^eval:/);
    await page.goto(`${api.base}/evals/${candidateId}`);
    const itemRun = await page.getByTestId('eval-item-run').first().getAttribute('href');
    await expectRunWithTrace(page, itemRun!, /^answer:/);

    // 3. The experiment comparing them.
    await page.getByTestId('nav-evals').click();
    await page.waitForURL(/\/evals$/);
    await page.locator(`[data-testid=eval-row][data-eval-id="${baselineId}"] [data-testid=eval-select]`).check();
    await page.locator(`[data-testid=eval-row][data-eval-id="${candidateId}"] [data-testid=eval-select]`).check();
    await page.getByTestId('eval-compare').click();
    await page.waitForURL(/\/experiments\/[0-9a-f-]{36}$/);
    const experimentId = page.url().split('/').pop()!;
    await page.getByTestId('experiment-comparison').waitFor();
    const experiment = (await call('GET', `/v1/experiments/${experimentId}`)).body;
    expect(experiment).toMatchObject({ baselineRunId: baselineId, evalRunIds: [baselineId, candidateId] });
    expect(experiment.comparisons[0].pairs).toBe(QUESTIONS.length);
    expect(await page.getByTestId('experiment-metric').count()).toBe(experiment.comparisons[0].metrics.length);
    await noError(page);
    await saveScreenshot(page, 'loop-experiment');

    // 4. The twenty answers replayed with the scripted OpenAI-compatible model.
    const before = server.requestsTo('/chat/completions').length;
    await selectTheAnswers(page);
    await page.getByTestId('answers-replay').click();
    await page.waitForURL(/\/replays\?answerIds=/);
    expect(await page.getByTestId('replay-selected').textContent()).toContain(`${QUESTIONS.length} answers`);
    await page.getByTestId('replay-name').fill('scripted model');
    await page.getByTestId('replay-model').fill('gpt-4o-mini');
    await page.getByTestId('replay-submit').click();
    await page.waitForURL(/\/replays\/[0-9a-f-]{36}$/);
    const replayId = page.url().split('/').pop()!;
    await expect
      .poll(async () => (await noError(page), page.getByTestId('replay-status').textContent()), { timeout: 240_000 })
      .toMatch(/completed/i);
    await expect.poll(() => page.getByTestId('replay-item').count()).toBe(QUESTIONS.length);
    const replay = (await call('GET', `/v1/replays/${replayId}`)).body;
    expect(replay).toMatchObject({
      mode: 'generation',
      status: 'completed',
      setup: { model: 'gpt-4o-mini' },
      progress: { total: QUESTIONS.length, completed: QUESTIONS.length, failed: 0 },
    });
    expect(replay.answerIds.sort()).toEqual([...answerIds].sort());
    // The new answers came from the scripted model over its wire protocol: one generation per answer at least.
    const generations = server
      .requestsTo('/chat/completions')
      .slice(before)
      .filter((r) => r.body?.model === 'gpt-4o-mini');
    expect(generations.length).toBeGreaterThanOrEqual(QUESTIONS.length);
    await saveScreenshot(page, 'loop-replay');
    // The replay is a run too, and so is each answer it regenerated.
    const replayItemRun = await page.getByTestId('replay-item-run').first().getAttribute('href');
    await expectRunWithTrace(page, `/runs/${encodeURIComponent(replay.workflowId)}`, /^replay:/);
    await expectRunWithTrace(page, replayItemRun!, /^replay:/);
    await expectNoHorizontalOverflow(page);
  } finally {
    await context.close();
  }
}, 900_000);
