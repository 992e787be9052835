import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { ingestCorpus } from '../rag-fixtures';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's Usage page in real Chromium against the API (built with the test harness) serving the built console:
 * an ingest and an answer made through the API (offline models), then a viewer signs in, opens Usage, sees the
 * charts drawn and their tables naming the models the API reports, splits by run kind; then the same on a phone.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let email: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  email = uniqueEmail('viewer');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email, role: 'viewer', password: PASSWORD, displayName: 'Vera Viewer' },
  });
  expect(added.status).toBe(201);
  const collectionId = await ingestCorpus(ctx, api);
  const answer = await api.request('POST', '/v1/answers?wait=true', {
    key: ctx.tenant.key,
    body: { question: 'What is the default pickle protocol?', collectionIds: [collectionId] },
  });
  expect(answer.status).toBe(200);
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

async function signIn(page: Page, path: string): Promise<void> {
  await page.goto(`${api.base}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('email-input').fill(email);
  await page.getByTestId('password-input').fill(PASSWORD);
  await page.getByTestId('password-submit').click();
  await page.waitForURL((url) => url.pathname === path);
  await page.getByTestId('identity-user').waitFor({ state: 'attached' });
}

/** The groups the API reports for the page's default range (the last 7 days). */
const apiGroups = async (groupBy: string) =>
  (
    (await api.request('GET', `/v1/usage/timeseries?groupBy=${groupBy}`, { key: ctx.tenant.key })).body!
      .groups as Json[]
  )
    .map((g) => g.key as string)
    .sort();

/** The rows of a chart's table (its text alternative), by group key. */
const tableKeys = async (page: Page, chart: string) =>
  (
    await page
      .getByTestId(`usage-chart-${chart}`)
      .getByTestId('usage-alt-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key') ?? ''))
  ).sort();

async function expectChartsDrawn(page: Page): Promise<void> {
  for (const chart of ['cost', 'tokens', 'latency']) {
    const canvas = page.getByTestId(`usage-chart-${chart}`).locator('canvas');
    await canvas.first().waitFor();
    const box = await canvas.first().boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    expect(box!.width).toBeLessThanOrEqual(page.viewportSize()!.width);
  }
}

const withPage = async (viewport: typeof DESKTOP | typeof PHONE, fn: (page: Page) => Promise<void>) => {
  const context: BrowserContext = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  try {
    await fn(page);
  } finally {
    await context.close();
  }
};

it('shows cost and tokens by model and by run kind, with tables of the same numbers (1280×800)', async () => {
  const models = await apiGroups('model');
  expect(models.length).toBeGreaterThanOrEqual(2); // an embedding model and an answering one
  const kinds = await apiGroups('kind');
  expect(kinds).toEqual(expect.arrayContaining(['answer', 'ingest']));

  await withPage(DESKTOP, async (page) => {
    await signIn(page, '/runs');
    await page.getByTestId('nav-usage').click();
    await page.waitForURL(/\/usage$/);
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Usage and cost');
    await expectChartsDrawn(page);

    await expect.poll(() => tableKeys(page, 'cost')).toEqual(models);
    expect(await tableKeys(page, 'tokens')).toEqual(models);
    const label = await page.getByTestId('usage-chart-tokens').getByRole('img').getAttribute('aria-label');
    expect(label).toMatch(/^Tokens by model: [\d,.]+ tokens in total over \d+ days \(UTC\); largest: /);
    expect(models.some((m) => label!.includes(m))).toBe(true);
    expect(await page.getByTestId('usage-calls').textContent()).toMatch(/[1-9]/);
    for (const kind of ['answer', 'ingest'])
      await page.getByTestId('usage-latency-table').locator(`[data-kind="${kind}"]`).waitFor();

    // Split by run kind: the URL keeps it, the charts and their tables follow.
    await page.getByTestId('usage-group-kind').check();
    await page.waitForURL(/groupBy=kind/);
    await expect.poll(() => tableKeys(page, 'cost')).toEqual(kinds);
    expect(await page.getByTestId('usage-chart-cost').getByRole('img').getAttribute('aria-label')).toMatch(
      /^Cost by run kind: /,
    );

    // The text alternative opens in place.
    await page.getByTestId('usage-chart-cost').getByText('as a table').click();
    await page.getByTestId('usage-chart-cost').getByTestId('usage-alt-row').first().waitFor({ state: 'visible' });
    await page.getByTestId('usage-group-model').check();
    await expect.poll(() => tableKeys(page, 'cost')).toEqual(models);

    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'usage');
  });
});

it('fits a phone: charts take the screen’s width and nothing scrolls sideways (390×844)', async () => {
  const models = await apiGroups('model');
  await withPage(PHONE, async (page) => {
    await signIn(page, '/usage');
    await expectChartsDrawn(page);
    await expect.poll(() => tableKeys(page, 'cost')).toEqual(models);
    // Open every table: a wide one scrolls inside its own box, not the page.
    for (const summary of await page.getByTestId('usage-alt').locator('summary').all()) await summary.click();
    await page.getByTestId('usage-group-key').check();
    await page.waitForURL(/groupBy=key/);
    await expect.poll(() => tableKeys(page, 'cost')).toEqual(await apiGroups('key'));
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'usage');
  });
});
