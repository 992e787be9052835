import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { ingestCorpus } from '../rag-fixtures';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's Schedules pages in real Chromium against the API (test harness, a real worker and Temporal) serving
 * the built console: an admin creates a retention schedule every 2 seconds in the form (its preview read back as
 * typed), watches its runs appear on its page, pauses it with a note (a trigger while paused starts exactly one run,
 * no scheduled one starts), unpauses it (scheduled runs resume), and deletes it after a confirmation; an eval-run
 * schedule of a dataset over a collection made in the form, edited without a change (its job kept as it was) and
 * triggered (an eval run of the schedule appears and completes); then the list, the form and a schedule's page on a
 * phone.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let adminEmail: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  adminEmail = uniqueEmail('admin');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email: adminEmail, role: 'admin', password: PASSWORD, displayName: 'Ada Admin' },
  });
  expect(added.status).toBe(201);
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
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

const withPage = async (viewport: typeof DESKTOP | typeof PHONE, fn: (page: Page) => Promise<void>) => {
  const context: BrowserContext = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await fn(page);
  } finally {
    await context.close();
  }
};

/** The schedule page's notice after an action; an error alert instead fails with its text. */
async function noticeOf(page: Page): Promise<string> {
  const notice = page.getByTestId('schedule-notice').or(page.getByTestId('error'));
  await notice.first().waitFor();
  const text = (await notice.first().textContent()) ?? '';
  if ((await notice.first().getAttribute('data-testid')) === 'error')
    throw new Error(`the page shows an error: ${text}`);
  return text;
}

const scheduleOf = async (id: string) =>
  (await api.request('GET', `/v1/schedules/${id}`, { key: ctx.tenant.key })).body as Json;
const runsOf = async (id: string) =>
  ((await api.request('GET', `/v1/schedules/${id}/runs`, { key: ctx.tenant.key })).body!.runs ?? []) as Json[];
/** Runs of the schedule that started at or after `since` (Temporal's clock is this machine's). */
const startedSince = async (id: string, since: number) =>
  (await runsOf(id)).filter((r) => Date.parse(r.startTime) >= since);

it('creates a schedule every 2 seconds, sees its runs, pauses, triggers, unpauses and deletes it (1280×800)', async () => {
  const name = `retention-${crypto.randomUUID().slice(0, 8)}`;
  await withPage(DESKTOP, async (page) => {
    await signIn(page, '/schedules');
    await page.getByTestId('schedules-table').waitFor();
    await page.getByTestId('schedule-new').click();

    // The form: a retention job (an admin's default) every 2 seconds; the preview reads the spec back as typed.
    await page.getByTestId('schedule-name').fill(name);
    expect(await page.getByTestId('schedule-job-retention').isChecked()).toBe(true);
    await page.getByTestId('schedule-age-runEvents').fill('400');
    await page.getByTestId('schedule-mode-cron').check();
    await page.getByTestId('schedule-cron').fill('0 2 * * 1-5');
    expect(await page.getByTestId('schedule-preview').textContent()).toBe('At 02:00, Monday through Friday (UTC)');
    await page.getByTestId('schedule-cron').fill('0 2 * *');
    expect(await page.getByTestId('schedule-cron-lines').textContent()).toContain('has 4 fields');
    expect(await page.getByTestId('schedule-preview').count()).toBe(0);
    await page.getByTestId('schedule-mode-interval').check();
    await page.getByTestId('schedule-every').fill('2');
    await page.getByTestId('schedule-unit').selectOption('seconds');
    expect(await page.getByTestId('schedule-preview').textContent()).toBe('Every 2 seconds');
    await page.getByTestId('schedule-overlap').selectOption('buffer_one');
    expect(await page.getByTestId('schedule-overlap-hint').textContent()).toContain('waits and starts when it ends');
    await page.getByTestId('schedule-overlap').selectOption('skip');
    // A jitter that is not a duration is named under its field, and nothing is sent.
    await page.getByTestId('schedule-jitter').fill('soon');
    await page.getByTestId('schedule-save').click();
    await expect.poll(() => page.getByTestId('schedule-jitter').getAttribute('aria-invalid')).toBe('true');
    expect((await api.request('GET', '/v1/schedules', { key: ctx.tenant.key })).body!.schedules).toHaveLength(0);
    await page.getByTestId('schedule-jitter').fill('');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'schedules-new');
    await page.getByTestId('schedule-save').click();

    const row = page.locator(`[data-testid=schedule-row][data-name="${name}"]`);
    await row.waitFor();
    const id = (await row.getAttribute('data-schedule-id'))!;
    const created = await scheduleOf(id);
    // What the server runs is what the form previewed.
    expect(created).toMatchObject({
      name,
      job: { type: 'retention', ages: { runEvents: 400 } },
      spec: { intervals: [{ every: expect.stringMatching(/^(2s|2000ms|2 seconds)$/) }], timezone: 'UTC' },
      policy: { overlap: 'skip' },
      state: { paused: false },
    });
    expect(await row.getByTestId('schedule-job').textContent()).toBe('Retention');
    expect(await row.getByTestId('schedule-when').textContent()).toBe(created.preview);
    expect(await row.getByTestId('schedule-state').textContent()).toContain('active');

    // Its page: the runs appear as they start (the page polls while one is due).
    await row.getByTestId('schedule-link').click();
    await page.waitForURL(new RegExp(`/schedules/${id}$`));
    await expect.poll(() => page.evaluate('document.activeElement?.textContent?.trim()')).toBe(name);
    expect(await page.getByTestId('schedule-page-preview').textContent()).toBe(created.preview);
    await expect
      .poll(() => page.getByTestId('schedule-recent-run').count(), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const firstRun = page.getByTestId('run-row').first();
    expect(await firstRun.getAttribute('data-workflow-id')).toBeTruthy();
    expect(await firstRun.locator('[data-label=Kind]').textContent()).toContain('batch');
    const recentHref = await page.getByTestId('schedule-recent-run').first().getByRole('link').getAttribute('href');
    expect(recentHref).toMatch(/^\/runs\/.+/);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'schedule');

    // Pause with a note: the page shows it, and the API has it.
    await page.getByTestId('schedule-pause').click();
    await page.getByTestId('schedule-pause-note').fill('Database maintenance tonight');
    await page.getByTestId('schedule-pause-confirm').click();
    await expect.poll(() => page.getByTestId('schedule-page-note').textContent()).toContain('Paused');
    const pausedAt = Date.now();
    expect(await page.getByTestId('schedule-page-note').textContent()).toContain('Database maintenance tonight');
    expect(await page.getByTestId('schedule-page-state').textContent()).toBe('paused');
    expect(await page.getByTestId('schedule-next-runs').count()).toBe(0);
    expect((await scheduleOf(id)).state).toEqual({ paused: true, note: 'Database maintenance tonight' });

    // While paused, "Trigger now" starts one run, and it is the only run that starts.
    await page.getByTestId('schedule-trigger').click();
    expect(await noticeOf(page)).toContain('started now');
    await expect.poll(async () => (await startedSince(id, pausedAt)).length, { timeout: 30_000 }).toBe(1);
    const [triggered] = await startedSince(id, pausedAt);
    // Temporal names a schedule's runs by the second they were due: a trigger in the second of the last scheduled run
    // shares its workflow id (two rows, two run ids).
    await page.locator(`[data-testid=run-row][data-workflow-id="${triggered!.workflowId}"]`).first().waitFor();
    expect((await scheduleOf(id)).recentRuns.filter((r: Json) => Date.parse(r.startedAt) >= pausedAt)).toHaveLength(1);

    // Unpause: scheduled runs start again.
    await page.getByTestId('schedule-unpause').click();
    await expect.poll(() => page.getByTestId('schedule-page-state').textContent()).toBe('active');
    const unpausedAt = Date.now();
    await expect
      .poll(async () => (await startedSince(id, unpausedAt)).length, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(1);
    expect((await scheduleOf(id)).state.paused).toBe(false);

    // Delete after a confirmation that names it.
    await page.getByTestId('schedule-delete').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(name);
    await page.getByTestId('confirm-button').click();
    await page.waitForURL(/\/schedules$/);
    await page.getByTestId('schedules-table').waitFor();
    expect(await page.locator(`[data-testid=schedule-row][data-name="${name}"]`).count()).toBe(0);
    expect((await api.request('GET', `/v1/schedules/${id}`, { key: ctx.tenant.key })).status).toBe(404);
  });
}, 120_000);

it('creates an eval-run schedule in the form, saves it unchanged and triggers an eval run (1280×800)', async () => {
  const key = ctx.tenant.key;
  const collectionId = await ingestCorpus(ctx, api);
  const ds = await api.request('POST', '/v1/datasets', {
    key,
    body: {
      name: `python docs ${crypto.randomUUID().slice(0, 8)}`,
      items: [
        {
          id: 'protocol',
          question: 'What is the default pickle protocol in Python 3.11?',
          goldSources: ['pickle.md'],
          expectedFacts: ['protocol 5'],
        },
        { id: 'gather', question: 'What does asyncio.gather return?', goldSources: ['asyncio.md'] },
      ],
    },
  });
  expect(ds.status, JSON.stringify(ds.body)).toBe(201);
  const datasetId = ds.body!.id as string;
  const name = `eval-${crypto.randomUUID().slice(0, 8)}`;
  const countNamed = async () =>
    ((await api.request('GET', '/v1/schedules', { key })).body!.schedules as Json[]).filter((s) => s.name === name)
      .length;

  await withPage(DESKTOP, async (page) => {
    await signIn(page, '/schedules');
    await page.getByTestId('schedules-table').waitFor();
    await page.getByTestId('schedule-new').click();
    await page.getByTestId('schedule-name').fill(name);
    await page.getByTestId('schedule-job-eval').check();

    // Neither a dataset nor a collection picked: both are named under their fields, and nothing is sent.
    await page.getByTestId('schedule-save').click();
    await expect.poll(() => page.getByTestId('schedule-eval-dataset').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('schedule-eval-collections').textContent()).toContain(
      'Pick at least one collection.',
    );
    expect(await countNamed()).toBe(0);

    // The dataset (its list loads when the job is picked), its latest version, one collection and some settings.
    await page.getByTestId('schedule-eval-dataset').selectOption(datasetId);
    expect(await page.getByTestId('schedule-eval-dataset-version').inputValue()).toBe('');
    await page.locator(`[data-testid=schedule-eval-collection][value="${collectionId}"]`).check();
    await page.getByTestId('schedule-eval-topk').fill('3');
    await page.getByTestId('schedule-eval-prompt-answer').fill('production');
    await page.getByTestId('schedule-eval-concurrency').fill('2');
    // Once a day, so only the trigger below starts a run while the test looks.
    expect(await page.getByTestId('schedule-preview').textContent()).toBe('Every day');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'schedules-new-eval');
    await page.getByTestId('schedule-save').click();

    const row = page.locator(`[data-testid=schedule-row][data-name="${name}"]`);
    await row.waitFor();
    const id = (await row.getAttribute('data-schedule-id'))!;
    const created = await scheduleOf(id);
    const job = {
      type: 'evalRun',
      datasetId,
      config: { collectionIds: [collectionId], topK: 3, prompts: { answer: 'production' } },
      concurrency: 2,
    };
    expect(created.job).toEqual(job);
    expect(await row.getByTestId('schedule-job').textContent()).toBe(`Eval: dataset ${datasetId.slice(0, 8)}`);

    // Edit: the form comes filled with the job; saving with no change sends no job and keeps it as it was.
    await row.getByTestId('schedule-link').click();
    await page.waitForURL(new RegExp(`/schedules/${id}$`));
    await page.getByTestId('schedule-edit').click();
    expect(await page.getByTestId('schedule-job-eval').isChecked()).toBe(true);
    await expect.poll(() => page.getByTestId('schedule-eval-dataset').inputValue()).toBe(datasetId);
    const box = page.locator(`[data-testid=schedule-eval-collection][value="${collectionId}"]`);
    expect(await box.isChecked()).toBe(true);
    expect(await page.getByTestId('schedule-eval-topk').inputValue()).toBe('3');
    expect(await page.getByTestId('schedule-eval-prompt-answer').inputValue()).toBe('production');
    expect(await page.getByTestId('schedule-eval-concurrency').inputValue()).toBe('2');
    expect(await page.getByTestId('schedule-eval-model').inputValue()).toBe('');
    const patch = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/v1/schedules/${id}`));
    await page.getByTestId('schedule-save').click();
    expect((await patch).postDataJSON()).toEqual({});
    expect(await noticeOf(page)).toBe('Saved.');
    expect((await scheduleOf(id)).job).toEqual(job);

    // Trigger it: an eval run of the dataset, started by this schedule, appears and completes.
    await page.getByTestId('schedule-trigger').click();
    expect(await noticeOf(page)).toContain('started now');
    const evalRunOf = async () =>
      ((await api.request('GET', `/v1/evals?datasetId=${datasetId}`, { key })).body!.evalRuns as Json[]).find(
        (r) => r.scheduleId === created.temporalScheduleId,
      );
    await expect.poll(evalRunOf, { timeout: 60_000 }).toBeTruthy();
    await expect.poll(async () => (await evalRunOf())?.status, { timeout: 150_000, interval: 1000 }).toBe('completed');
    const run = (await evalRunOf())!;
    expect(run.dataset).toMatchObject({ id: datasetId, version: 1 });
    expect(run.config).toMatchObject(job.config);
    expect(run.aggregate.completed).toBe(2);
    await page.getByTestId('run-row').first().waitFor();
    await saveScreenshot(page, 'schedule-eval');
  });
}, 360_000);

it('fits a phone: the list, the form and a schedule’s page (390×844)', async () => {
  const name = `nightly-${crypto.randomUUID().slice(0, 8)}`;
  const created = await api.request('POST', '/v1/schedules', {
    key: ctx.tenant.key,
    body: {
      name,
      description: 'Deletes answers and spans past their age, every night while the office sleeps',
      job: { type: 'retention', ages: { answers: 90, spans: 30 } },
      spec: { cron: ['0 3 * * *'], timezone: 'Europe/Paris', jitter: '5m' },
      policy: { overlap: 'skip', catchupWindow: '10m', pauseOnFailure: true },
      paused: true,
      note: 'Waiting for the legal review of the retention ages',
    },
  });
  expect(created.status).toBe(201);
  const id = created.body!.id as string;

  await withPage(PHONE, async (page) => {
    await signIn(page, '/schedules');
    const row = page.locator(`[data-testid=schedule-row][data-schedule-id="${id}"]`);
    await row.waitFor();
    expect(await row.getByTestId('schedule-state').textContent()).toContain('Waiting for the legal review');
    expect(await row.getByTestId('schedule-next').textContent()).toBe('—');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'schedules');

    await page.getByTestId('schedule-new').click();
    await page.getByTestId('schedule-mode-cron').check();
    await page.getByTestId('schedule-cron').fill('*/15 9-17 * * 1-5\n0 3 * * *');
    await page.getByTestId('schedule-timezone').selectOption('Asia/Tokyo');
    expect(await page.getByTestId('schedule-preview').textContent()).toBe(
      'Every 15 minutes, between 09:00 and 17:59, Monday through Friday; At 03:00 (Asia/Tokyo)',
    );
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'schedules-new');
    // An eval-run job's fields fit too.
    await page.getByTestId('schedule-job-eval').check();
    await page.getByTestId('schedule-eval-collections').waitFor();
    await page.getByTestId('schedule-eval-prompt-answer').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'schedules-new-eval');

    await page.goto(`${api.base}/schedules/${id}`);
    await expect.poll(() => page.getByTestId('schedule-title').textContent()).toContain(name);
    expect(await page.getByTestId('schedule-page-timezone').textContent()).toBe('Europe/Paris');
    expect(await page.getByTestId('schedule-page-note').textContent()).toContain('legal review');
    expect(await page.getByTestId('schedule-page-overlap').textContent()).toContain('Skip');

    // Edit: the form comes filled with the schedule; a change is saved and shown.
    await page.getByTestId('schedule-edit').click();
    expect(await page.getByTestId('schedule-cron').inputValue()).toBe('0 3 * * *');
    expect(await page.getByTestId('schedule-timezone').inputValue()).toBe('Europe/Paris');
    expect(await page.getByTestId('schedule-age-answers').inputValue()).toBe('90');
    await page.getByTestId('schedule-cron').fill('*/30 * * * *');
    await page.getByTestId('schedule-save').click();
    expect(await noticeOf(page)).toBe('Saved.');
    expect((await scheduleOf(id)).spec.cron).toEqual(['*/30 * * * *']);
    await expect
      .poll(() => page.getByTestId('schedule-page-preview').textContent())
      .toBe((await scheduleOf(id)).preview);

    // Backfill the last two hours: the runs due then start now, even while paused.
    await page.getByTestId('schedule-backfill').click();
    const end = new Date();
    const start = new Date(end.getTime() - 2 * 3_600_000);
    const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.getByTestId('backfill-start').fill(local(start));
    await page.getByTestId('backfill-end').fill(local(end));
    await page.getByTestId('backfill-submit').click();
    expect(await noticeOf(page)).toContain('Backfilling');
    await expect.poll(async () => (await runsOf(id)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await page.getByTestId('run-row').first().waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'schedule');
  });
}, 120_000);
