import type { Browser, BrowserContext, Page } from 'playwright-core';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { ingestCorpus } from '../rag-fixtures';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's Evals pages in real Chromium against the API (test harness, a real worker and Temporal) serving the
 * built console: over a small corpus and a dataset of three items, one eval run is started through the API with the
 * shipped prompts and another in the form with a `candidate` answer prompt; the list shows both complete, a run's
 * page its metrics and items, an item links to its answer run with the trace, and comparing the two makes an
 * experiment with its metric table. Then the same pages on a phone, and a viewer sees them without the controls.
 * Last, the rest of the loop: two past answers become a dataset from the Answers page, a new answer prompt version is
 * added and labelled on the Prompts page, and the answers are replayed with it (old and new side by side).
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let adminEmail: string;
let viewerEmail: string;
let collectionId = '';
let datasetId = '';
let baselineId = '';
let candidateId = '';
let experimentId = '';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

const ITEMS = [
  {
    id: 'protocol',
    question: 'What is the default pickle protocol in Python 3.11?',
    goldSources: ['pickle.md'],
    expectedFacts: ['protocol 5'],
  },
  {
    id: 'gather',
    question: 'What does asyncio.gather return?',
    goldSources: ['asyncio.md'],
    expectedFacts: ['aggregate list of results'],
  },
  {
    id: 'dumps',
    question: 'Which separators does json.dumps use by default?',
    goldSources: ['json.md'],
    expectedFacts: ['separators'],
  },
];

const call = (method: string, path: string, body?: unknown) =>
  api.request(method, path, { key: ctx.tenant.key, body }) as Promise<{ status: number; body: Json }>;

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  adminEmail = uniqueEmail('admin');
  viewerEmail = uniqueEmail('viewer');
  for (const [email, role] of [
    [adminEmail, 'admin'],
    [viewerEmail, 'viewer'],
  ] as const) {
    const added = await call('POST', '/v1/members', { email, role, password: PASSWORD, displayName: role });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
  }
  collectionId = await ingestCorpus(ctx, api);
  const ds = await call('POST', '/v1/datasets', { name: 'python docs', items: ITEMS });
  expect(ds.status, JSON.stringify(ds.body)).toBe(201);
  datasetId = ds.body.id;
  const prompt = await call('POST', '/v1/prompts/answer/versions', {
    text: 'Answer only from the numbered passages, citing each sentence like [1]. If they do not answer, say: "The documents do not say."',
    labels: ['candidate'],
  });
  expect(prompt.status, JSON.stringify(prompt.body)).toBe(201);
  const started = await call('POST', '/v1/evals', {
    name: 'shipped prompts',
    datasetId,
    config: { collectionIds: [collectionId], topK: 4 },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  baselineId = started.body.id;
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

async function signIn(page: Page, email: string, path: string): Promise<void> {
  await page.goto(`${api.base}${path}`);
  // Once more if the console was being rebuilt (by another test file in the shared working tree) just then.
  await page.waitForURL(/\/sign-in/, { timeout: 15_000 }).catch(() => page.goto(`${api.base}${path}`));
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('email-input').fill(email);
  await page.getByTestId('password-input').fill(PASSWORD);
  await page.getByTestId('password-submit').click();
  await page.waitForURL((url) => url.pathname === path);
  await page.getByTestId('identity-user').waitFor({ state: 'attached' });
}

const withPage = async (
  viewport: typeof DESKTOP | typeof PHONE,
  email: string,
  path: string,
  fn: (page: Page) => Promise<void>,
) => {
  const context: BrowserContext = await browser.newContext(
    viewport === PHONE ? { viewport, isMobile: true, hasTouch: true } : { viewport },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await signIn(page, email, path);
    await fn(page);
  } finally {
    await context.close();
  }
};

/** Fails with the page's error alert when one shows instead of what the test waits for. */
async function noError(page: Page): Promise<void> {
  const alert = page.getByTestId('error');
  if (await alert.count()) throw new Error(`the page shows an error: ${await alert.first().textContent()}`);
}

it('starts a run in the form, follows both to completion, drills into an item and compares them (1280×800)', async () => {
  await withPage(DESKTOP, adminEmail, '/evals', async (page) => {
    await page.getByTestId('evals-table').waitFor();
    await expect.poll(() => page.getByTestId('eval-row').count()).toBe(1);

    // The form: the dataset (its latest version), the collection, the answer prompt by label.
    await page.getByTestId('eval-new').click();
    await page.getByTestId('eval-name').fill('candidate prompt');
    await expect.poll(() => page.getByTestId('eval-dataset').inputValue()).toBe(datasetId);
    await page.locator(`[data-testid=eval-collection][value="${collectionId}"]`).check();
    await page.getByTestId('eval-topk').fill('4');
    await page.getByTestId('eval-prompt-answer').fill('candidate');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'evals-new');
    await page.getByTestId('eval-submit').click();

    // The run's page: progress while it runs, then the aggregate and one row per item.
    await page.waitForURL(/\/evals\/[0-9a-f-]{36}$/);
    candidateId = page.url().split('/').pop()!;
    const run = (await call('GET', `/v1/evals/${candidateId}`)).body;
    expect(run).toMatchObject({
      name: 'candidate prompt',
      dataset: { id: datasetId, version: 1 },
      config: { collectionIds: [collectionId], topK: 4, prompts: { answer: 'candidate' } },
    });
    await page.getByTestId('eval-progress').waitFor();
    await expect
      .poll(async () => (await noError(page), page.getByTestId('eval-run-status').textContent()), { timeout: 120_000 })
      .toMatch(/completed/i);
    await expect.poll(() => page.getByTestId('eval-item').count()).toBe(3);
    await page.getByTestId('eval-metrics').waitFor();
    expect(await page.getByTestId('eval-metric-row').count()).toBe(8);
    expect(await page.getByTestId('eval-prompts').textContent()).toMatch(/answer v2/);
    expect(await page.getByTestId('eval-verdicts').textContent()).toMatch(/\d+ supported/);
    expect(await page.getByTestId('eval-cancel').count()).toBe(0);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'eval-run');

    // An item's run: the answer run with its steps and trace.
    const item = page.locator('[data-testid=eval-item][data-item-id=protocol]');
    const runLink = item.getByTestId('eval-item-run');
    const answerHref = await item.getByTestId('eval-item-answer').getAttribute('href');
    expect(answerHref).toMatch(/^\/answers\/[0-9a-f-]{36}$/);
    await runLink.click();
    await page.waitForURL(/\/runs\/answer%3A/);
    expect(await page.getByTestId('run-heading').textContent()).toMatch(/^answer:/);
    await page.getByTestId('waterfall').waitFor();
    await page.goBack();
    await page.waitForURL(new RegExp(`/evals/${candidateId}$`));

    // The list: both runs complete, their metrics and the chart across them.
    await page.getByTestId('nav-evals').click();
    await page.waitForURL(/\/evals$/);
    await until(
      'the baseline run',
      async () => (await call('GET', `/v1/evals/${baselineId}`)).body.status !== 'running',
    );
    for (const id of [baselineId, candidateId]) {
      await expect
        .poll(() => page.locator(`[data-testid=eval-row][data-eval-id="${id}"]`).getAttribute('data-status'), {
          timeout: 60_000,
        })
        .toBe('completed');
    }
    await page.getByTestId('eval-chart').waitFor();
    await page.getByTestId('eval-chart-table').locator('summary').click();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'evals');

    // Compare: the first selected is the baseline.
    expect(await page.getByTestId('eval-compare').isDisabled()).toBe(true);
    await page.locator(`[data-testid=eval-row][data-eval-id="${baselineId}"] [data-testid=eval-select]`).check();
    await page.locator(`[data-testid=eval-row][data-eval-id="${candidateId}"] [data-testid=eval-select]`).check();
    await page.getByTestId('eval-compare').click();
    await page.waitForURL(/\/experiments\/[0-9a-f-]{36}$/);
    experimentId = page.url().split('/').pop()!;
    const experiment = (await call('GET', `/v1/experiments/${experimentId}`)).body;
    expect(experiment.baselineRunId).toBe(baselineId);
    await page.getByTestId('experiment-comparison').waitFor();
    expect(await page.getByTestId('experiment-run').count()).toBe(2);
    expect(await page.getByTestId('experiment-metric').count()).toBe(10);
    // Every row reads in words, not colour alone; lower latency is better.
    const rows = experiment.comparisons[0].metrics as Json[];
    const latency = rows.find((m) => m.metric === 'latencyMs')!;
    const latencyRow = page.locator('[data-testid=experiment-metric][data-metric=latencyMs]');
    expect(await latencyRow.textContent()).toContain('lower is better');
    if (latency.ci && latency.ci.high < 0) expect(await latencyRow.getAttribute('data-tone')).toBe('better');
    if (latency.ci && latency.ci.low > 0) expect(await latencyRow.getAttribute('data-tone')).toBe('worse');
    expect(await page.getByTestId('experiment-changed').or(page.getByTestId('experiment-changed-empty')).count()).toBe(
      1,
    );
    expect(await page.getByTestId('nav-evals').getAttribute('aria-current')).toBe('page');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'experiment');

    // Listed under Evals.
    await page.getByTestId('nav-evals').click();
    await page.locator(`[data-testid=experiment-row][data-experiment-id="${experimentId}"]`).waitFor();
  });
}, 300_000);

it('fits a phone (390×844): the list, a run and the experiment, reached from the menu', async () => {
  expect(experimentId, 'the desktop test made the experiment').not.toBe('');
  await withPage(PHONE, adminEmail, '/runs', async (page) => {
    await page.getByTestId('menu-button').click();
    await page.getByTestId('nav-evals').click();
    await page.waitForURL(/\/evals$/);
    await expect.poll(() => page.getByTestId('eval-row').count()).toBe(2);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'evals');
    await page.getByTestId('eval-new').click();
    await page.getByTestId('eval-form').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'evals-new');

    await page.goto(`${api.base}/evals/${candidateId}`);
    await expect.poll(() => page.getByTestId('eval-item').count()).toBe(3);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'eval-run');

    await page.goto(`${api.base}/experiments/${experimentId}`);
    await expect.poll(() => page.getByTestId('experiment-metric').count()).toBe(10);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'experiment');
  });
}, 120_000);

it('shows a viewer the same pages without the controls that need an operator', async () => {
  await withPage(DESKTOP, viewerEmail, '/evals', async (page) => {
    await expect.poll(() => page.getByTestId('eval-row').count()).toBe(2);
    expect(await page.getByTestId('eval-new').count()).toBe(0);
    expect(await page.getByTestId('eval-compare').count()).toBe(0);
    expect(await page.getByTestId('eval-select').count()).toBe(0);
    await page.goto(`${api.base}/experiments/${experimentId}`);
    await expect.poll(() => page.getByTestId('experiment-metric').count()).toBe(10);
    expect(await page.getByTestId('experiment-delete').count()).toBe(0);
  });
}, 120_000);

it('builds a dataset from past answers, adds a prompt version and replays the answers with it', async () => {
  const answerIds: string[] = [];
  for (const question of ['What is the default pickle protocol?', 'What does asyncio.gather return?']) {
    const res = await call('POST', '/v1/answers?wait=true', { question, collectionIds: [collectionId] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    answerIds.push(res.body.id);
  }
  let newDatasetId = '';
  let replayId = '';
  await withPage(DESKTOP, adminEmail, '/answers', async (page) => {
    // Answers → "Add to dataset": a new dataset from the two answers.
    for (const id of answerIds) await page.locator(`[data-answer-id="${id}"] [data-testid=answer-select]`).check();
    await page.getByTestId('dataset-add').waitFor();
    await page.getByTestId('dataset-add-name').fill('from answers');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'answers-selected');
    await page.getByTestId('dataset-add-submit').click();
    await page.getByTestId('dataset-add-notice').waitFor();
    await page.getByTestId('dataset-add-link').click();
    await page.waitForURL(/\/datasets\/[0-9a-f-]{36}$/);
    newDatasetId = page.url().split('/').pop()!;
    await expect.poll(() => page.getByTestId('dataset-item').count()).toBe(2);
    expect(await page.getByTestId('dataset-export-jsonl').getAttribute('href')).toContain(
      `/v1/datasets/${newDatasetId}/export?format=jsonl`,
    );
    await noError(page);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'dataset');
    // "Run an eval" opens the form on this dataset.
    await page.getByTestId('dataset-run-eval').click();
    await page.waitForURL(/\/evals\?datasetId=/);
    await expect.poll(() => page.getByTestId('eval-dataset').inputValue()).toBe(newDatasetId);
    await page.goto(`${api.base}/datasets`);
    await page.locator(`[data-testid=dataset-row][data-dataset-id="${newDatasetId}"]`).waitFor();
    await saveScreenshot(page, 'datasets');

    // Prompts: a third answer prompt, labelled for the replay.
    await page.goto(`${api.base}/prompts`);
    await page.locator('[data-testid=prompt-row][data-name=answer] [data-testid=prompt-open]').click();
    await page.getByTestId('prompt-detail').waitFor();
    await page
      .getByTestId('prompt-draft')
      .fill(
        'Answer in one sentence from the numbered passages, citing it like [1]. Otherwise say: "The documents do not say."',
      );
    await page.getByTestId('prompt-new-label').fill('terse');
    await page.getByTestId('prompt-save').click();
    await expect
      .poll(() => page.getByTestId('prompts-notice').textContent())
      .toMatch(/answer v3 added, labelled terse/);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'prompts');

    // Replay the two answers with that prompt: per answer the old and the new side.
    await page.goto(`${api.base}/answers`);
    for (const id of answerIds) await page.locator(`[data-answer-id="${id}"] [data-testid=answer-select]`).check();
    await page.getByTestId('answers-replay').click();
    await page.waitForURL(/\/replays\?answerIds=/);
    expect(await page.getByTestId('replay-selected').textContent()).toContain('2 answers');
    await page.getByTestId('replay-name').fill('terse prompt');
    await page.getByTestId('replay-prompt-answer').fill('terse');
    await page.getByTestId('replay-submit').click();
    await page.waitForURL(/\/replays\/[0-9a-f-]{36}$/);
    replayId = page.url().split('/').pop()!;
    await expect
      .poll(async () => (await noError(page), page.getByTestId('replay-status').textContent()), { timeout: 120_000 })
      .toMatch(/completed/i);
    await expect.poll(() => page.getByTestId('replay-item').count()).toBe(2);
    const replay = (await call('GET', `/v1/replays/${replayId}`)).body;
    expect(replay).toMatchObject({ mode: 'generation', answerIds });
    expect(await page.getByTestId('replay-setup').textContent()).toContain('answer v3');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'replay');
    await page.goto(`${api.base}/replays`);
    await page.locator(`[data-testid=replay-row][data-replay-id="${replayId}"]`).waitFor();
    await saveScreenshot(page, 'replays');
  });

  await withPage(PHONE, adminEmail, `/datasets/${newDatasetId}`, async (page) => {
    await expect.poll(() => page.getByTestId('dataset-item').count()).toBe(2);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'dataset');
    await page.goto(`${api.base}/prompts`);
    await page.locator('[data-testid=prompt-row][data-name=answer] [data-testid=prompt-open]').click();
    await page.getByTestId('prompt-detail').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'prompts');
    await page.goto(`${api.base}/replays/${replayId}`);
    await expect.poll(() => page.getByTestId('replay-item').count()).toBe(2);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'replay');
    await page.goto(`${api.base}/answers`);
    await page.getByTestId('answer-select').first().check();
    await page.getByTestId('dataset-add').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'answers-selected');
  });
}, 300_000);

it('evaluates grounding checks: a labelled set of given answers, no collection, the confusion on the run page', async () => {
  const passage = 'The default pickle protocol in Python 3.11 is protocol 5.';
  const ds = await call('POST', '/v1/datasets', {
    name: 'grounding cases',
    items: [
      {
        id: 'same',
        question: 'Default protocol?',
        candidateAnswer: passage,
        context: [passage],
        expectedVerdict: 'supported',
      },
      {
        id: 'number',
        question: 'Default protocol?',
        candidateAnswer: 'The default pickle protocol in Python 3.11 is protocol 4.',
        context: [passage],
        expectedVerdict: 'unsupported',
      },
    ],
  });
  expect(ds.status, JSON.stringify(ds.body)).toBe(201);
  await withPage(DESKTOP, adminEmail, '/evals', async (page) => {
    await page.goto(`${api.base}/evals?datasetId=${ds.body.id}`);
    await expect.poll(() => page.getByTestId('eval-dataset').inputValue()).toBe(ds.body.id);
    await page.getByTestId('eval-target-grounding').check();
    expect(await page.getByTestId('eval-collection').count()).toBe(0);
    await page.getByTestId('eval-name').fill('grounding checks');
    await page.getByTestId('eval-submit').click();
    await page.waitForURL(/\/evals\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;
    await expect
      .poll(async () => (await noError(page), page.getByTestId('eval-run-status').textContent()), { timeout: 120_000 })
      .toMatch(/completed/i);
    expect((await call('GET', `/v1/evals/${id}`)).body.config).toEqual({ target: 'grounding', collectionIds: [] });
    expect(await page.getByTestId('eval-target').textContent()).toMatch(/grounding checks/);
    await expect.poll(() => page.getByTestId('eval-item').count()).toBe(2);
    expect(await page.getByTestId('eval-grounding').textContent()).toMatch(/balanced accuracy/);
    // Each item links to its grounding run.
    const runHref = await page.getByTestId('eval-item-run').first().getAttribute('href');
    expect(runHref).toMatch(/^\/runs\/grounding%3A/);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'eval-run-grounding');
  });
}, 240_000);
