import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * Sources on the console's collection page in real Chromium against the API (test harness, a real worker and
 * Temporal), over a local HTTP server whose pages change between syncs (loopback fetches allowed with
 * FETCH_ALLOW_HOSTS, as the operator of a real install would for an intranet): an operator adds a URL source, syncs
 * it, syncs again with nothing changed, edits its URLs while a page changes and another fails, and sees each sync's
 * counts, failures and run; "Schedule…" opens the new-schedule form with the sync filled in; the source is deleted
 * with its documents after a confirmation. Then the same page on a phone.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let operatorEmail: string;
let site: Server;
let origin: string;
/** The local site's pages: path → HTML; a missing path answers 404, `/broken.html` 500. */
const pages = new Map<string, string>();

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

const html = (title: string, body: string) =>
  `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1><p>${body}</p></body></html>`;

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext({ FETCH_ALLOW_HOSTS: '127.0.0.1' });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  site = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/broken.html') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded');
      return;
    }
    const page = pages.get(path);
    if (page === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  operatorEmail = uniqueEmail('operator');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email: operatorEmail, role: 'operator', password: PASSWORD, displayName: 'Otto Operator' },
  });
  expect(added.status).toBe(201);
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
  await new Promise((r) => site?.close(r));
});

async function signIn(page: Page, path: string): Promise<void> {
  await page.goto(`${api.base}${path}`);
  // Once more if the console was being rebuilt (by another test file in the shared working tree) just then.
  await page.waitForURL(/\/sign-in/, { timeout: 15_000 }).catch(() => page.goto(`${api.base}${path}`));
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('email-input').fill(operatorEmail);
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

async function newCollection(): Promise<{ id: string; name: string }> {
  const name = `site-${crypto.randomUUID().slice(0, 8)}`;
  const created = await api.request('POST', '/v1/collections', { key: ctx.tenant.key, body: { name } });
  expect(created.status).toBe(201);
  return { id: created.body!.id as string, name };
}

const documentsOf = async (collectionId: string) =>
  (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key })).body!
    .documents as Json[];
const sourcesOf = async (collectionId: string) =>
  (await api.request('GET', `/v1/collections/${collectionId}/sources`, { key: ctx.tenant.key })).body!
    .sources as Json[];

/** Clicks "Sync now" and waits for that sync (a new run, not the last one) to finish; returns its run link. */
async function syncAndWait(row: Locator): Promise<string> {
  const link = row.getByTestId('source-sync-run');
  const before = (await link.count()) ? await link.getAttribute('href') : null;
  await row.getByTestId('source-sync-now').click();
  await expect.poll(async () => ((await link.count()) ? await link.getAttribute('href') : null)).not.toBe(before);
  await expect.poll(() => row.getByTestId('source-sync-status').textContent(), { timeout: 90_000 }).toBe('completed');
  return (await link.getAttribute('href'))!;
}

it('adds a URL source, syncs what changed, edits, schedules and deletes it (1280×800)', async () => {
  const collection = await newCollection();
  pages.set('/a.html', html('Alpha', 'The alpha service restarts at midnight.'));
  pages.set('/b.html', html('Bravo', 'Bravo keeps its logs for a week.'));

  await withPage(DESKTOP, async (page) => {
    await signIn(page, `/knowledge/${collection.id}`);
    const section = page.getByTestId('sources');
    await section.waitFor();
    await expect.poll(() => section.textContent()).toContain('No sources yet.');

    // An operator adds a URL list (a folder is an admin's).
    await page.getByTestId('source-add').click();
    expect(await page.getByTestId('source-kind-folder').count()).toBe(0);
    await page.getByTestId('source-name').fill('Local docs');
    await page.getByTestId('source-urls').fill(`${origin}/a.html\nftp://example.test/x\n${origin}/b.html`);
    expect(await page.getByTestId('source-url-problems').textContent()).toContain('Line 2');
    expect(await page.getByTestId('source-save').isDisabled()).toBe(true);
    await page.getByTestId('source-urls').fill(`${origin}/a.html\n${origin}/b.html`);
    await page.getByTestId('source-save').click();
    const row = page.locator('[data-testid=source-row][data-name="Local docs"]');
    await row.waitFor();
    expect(await row.getByTestId('source-sync').textContent()).toContain('never');
    expect(await row.textContent()).toContain(`2 URLs: ${origin}/a.html`);
    const [source] = await sourcesOf(collection.id);
    expect(source).toMatchObject({
      kind: 'urls',
      name: 'Local docs',
      config: { urls: [`${origin}/a.html`, `${origin}/b.html`] },
    });

    // The first sync adds both pages; the documents list follows.
    const firstRun = await syncAndWait(row);
    expect(firstRun).toMatch(/^\/runs\/.+/);
    expect(await row.getByTestId('source-sync-counts').textContent()).toMatch(
      /^2 added · 0 changed · 0 unchanged · 0 removed · 0 failed$/,
    );
    expect(await row.getByTestId('source-documents').textContent()).toBe('2');
    await expect.poll(() => page.getByTestId('sources-notice').textContent()).toBe('The sync of Local docs finished.');
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(2);
    expect(await page.getByTestId('collection-stats').textContent()).toContain('2 documents');

    // Again with nothing changed: both unchanged.
    await syncAndWait(row);
    expect(await row.getByTestId('source-sync-counts').textContent()).toMatch(
      /^0 added · 0 changed · 2 unchanged · 0 removed · 0 failed$/,
    );

    // Two answers cite the pages as they are now.
    const ask = async (question: string) => {
      const res = await api.request('POST', '/v1/answers?wait=true', {
        key: ctx.tenant.key,
        body: { question, collectionIds: [collection.id] },
      });
      expect(res.body!.status, JSON.stringify(res.body)).toBe('answered');
      return res.body!;
    };
    const alpha = await ask('When does the alpha service restart?');
    const bravo = await ask('How long does Bravo keep its logs?');
    expect(await page.getByTestId('stale-answers').textContent()).toContain('No answer cites a changed passage.');

    // Edit: b leaves the list, c and a failing page join it, and a changes on the site.
    await row.getByTestId('source-edit').click();
    pages.set('/a.html', html('Alpha', 'The alpha service now restarts at 02:00.'));
    pages.set('/c.html', html('Charlie', 'Charlie is the new billing service.'));
    await page.getByTestId('source-urls').fill(`${origin}/a.html\n${origin}/c.html\n${origin}/broken.html`);
    await page.getByTestId('source-save').click();
    await expect.poll(() => row.textContent()).toContain(`3 URLs: ${origin}/a.html`);
    await syncAndWait(row);
    expect(await row.getByTestId('source-sync-counts').textContent()).toMatch(
      /^1 added · 1 changed · 0 unchanged · 1 removed · 1 failed$/,
    );
    const failures = row.getByTestId('source-sync-failures');
    expect(await failures.locator('li').isVisible()).toBe(false);
    await failures.locator('summary').click();
    expect(await failures.locator('li').textContent()).toContain(`${origin}/broken.html`);
    const synced = (await sourcesOf(collection.id))[0]!;
    expect(synced.lastSync).toMatchObject({ status: 'completed', added: 1, changed: 1, removed: 1, failed: 1 });
    expect(await row.getByTestId('source-sync-run').getAttribute('href')).toBe(
      `/runs/${encodeURIComponent(synced.lastSync.workflowId)}`,
    );
    await expect
      .poll(async () => (await documentsOf(collection.id)).map((d) => d.source).sort())
      .toEqual([`${origin}/a.html`, `${origin}/broken.html`, `${origin}/c.html`]);
    // The answers that cited a and b were checked against the pages now: listed, and marked on the answer.
    const stale = page.getByTestId('stale-answers');
    await expect.poll(() => stale.locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    const bravoRow = stale.locator('tbody tr', { hasText: 'How long does Bravo keep its logs?' });
    expect(await bravoRow.textContent()).toContain('Unsupported now');
    expect(await bravoRow.textContent()).toContain('1 cited document removed');
    expect(await stale.textContent()).toContain('When does the alpha service restart?');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'collection-sources');
    await bravoRow.getByRole('link').click();
    await page.waitForURL((url) => url.pathname === `/answers/${bravo.id as string}`);
    const freshness = page.getByTestId('answer-freshness');
    await freshness.waitFor();
    expect(await freshness.textContent()).toContain('Sources changed: no longer supported');
    expect(await freshness.textContent()).toContain('a document it cited was removed');
    await saveScreenshot(page, 'answer-freshness');
    expect(
      (await api.request('GET', `/v1/answers/${alpha.id as string}`, { key: ctx.tenant.key })).body!.freshness,
    ).not.toBeNull();
    await page.goBack();
    await row.waitFor();

    // "Schedule…" opens the new-schedule form with this sync filled in.
    await row.getByTestId('source-schedule').click();
    await page.waitForURL(/\/schedules\?/);
    const form = page.getByTestId('schedule-form');
    await form.waitFor();
    expect(await page.getByTestId('schedule-job-sync').isChecked()).toBe(true);
    await expect.poll(() => page.getByTestId('schedule-collection').inputValue()).toBe(collection.id);
    await expect.poll(() => page.getByTestId('schedule-source').inputValue()).toBe(synced.id);
    expect(await page.getByTestId('schedule-name').inputValue()).toBe('Sync Local docs');
    await page.getByTestId('schedule-every').fill('1');
    await page.getByTestId('schedule-unit').selectOption('days');
    expect(await page.getByTestId('schedule-preview').textContent()).toBe('Every day');
    await page.getByTestId('schedule-save').click();
    const scheduleRow = page.locator('[data-testid=schedule-row][data-name="Sync Local docs"]');
    await scheduleRow.waitFor();
    await expect
      .poll(() => scheduleRow.getByTestId('schedule-job').textContent())
      .toBe(`Sync: Local docs → ${collection.name}`);
    const scheduleId = (await scheduleRow.getAttribute('data-schedule-id'))!;
    expect((await api.request('DELETE', `/v1/schedules/${scheduleId}`, { key: ctx.tenant.key })).status).toBe(204);

    // Delete the source after a confirmation: its documents go with it.
    await page.goto(`${api.base}/knowledge/${collection.id}`);
    await row.waitFor();
    await row.getByTestId('source-delete').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Local docs');
    expect(await dialog.textContent()).toContain('3 documents');
    await page.getByTestId('confirm-button').click();
    await row.waitFor({ state: 'detached' });
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(0);
    expect(await sourcesOf(collection.id)).toEqual([]);
    expect(await documentsOf(collection.id)).toEqual([]);
  });
});

it('fits a phone: a collection’s sources with their last sync (390×844)', async () => {
  const collection = await newCollection();
  pages.set('/phone/one.html', html('One', 'The first page of a long-named documentation site.'));
  const created = await api.request('POST', `/v1/collections/${collection.id}/sources`, {
    key: ctx.tenant.key,
    body: {
      kind: 'urls',
      name: 'A documentation site with a rather long name to wrap on a phone',
      urls: [`${origin}/phone/one.html`, `${origin}/phone/missing-page-with-a-long-address-that-must-wrap.html`],
    },
  });
  expect(created.status).toBe(201);

  await withPage(PHONE, async (page) => {
    await signIn(page, `/knowledge/${collection.id}`);
    const row = page.locator(`[data-testid=source-row][data-source-id="${created.body!.id}"]`);
    await row.waitFor();
    await syncAndWait(row);
    expect(await row.getByTestId('source-sync-counts').textContent()).toMatch(/^1 added · .* · 1 failed$/);
    await row.getByTestId('source-sync-failures').locator('summary').click();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'collection-sources');
  });
});
