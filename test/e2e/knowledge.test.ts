import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { ingestCorpus } from '../rag-fixtures';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's Knowledge section in real Chromium against the API (built with the test harness, a real worker and
 * Temporal) serving the built console: an operator signs in with a password, creates a collection in the form,
 * drops a file and a whole folder on it, watches each file's upload and the ingest run's bar finish, opens a
 * document and its chunks, re-ingests it, deletes a document and the collection after confirmations; then the same
 * pages on a phone, with the answers that cited a document.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let email: string;
let viewerEmail: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  email = uniqueEmail('operator');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email, role: 'operator', password: PASSWORD, displayName: 'Otto Operator' },
  });
  expect(added.status).toBe(201);
  viewerEmail = uniqueEmail('viewer');
  const viewer = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email: viewerEmail, role: 'viewer', password: PASSWORD, displayName: 'Vera Viewer' },
  });
  expect(viewer.status).toBe(201);
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

async function signIn(page: Page, path: string, as = email): Promise<void> {
  await page.goto(`${api.base}${path}`);
  // Once more if the console was being rebuilt (by another test file in the shared working tree) just then.
  await page.waitForURL(/\/sign-in/, { timeout: 15_000 }).catch(() => page.goto(`${api.base}${path}`));
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('email-input').fill(as);
  await page.getByTestId('password-input').fill(PASSWORD);
  await page.getByTestId('password-submit').click();
  await page.waitForURL((url) => url.pathname === path);
  await page.getByTestId('identity-user').waitFor({ state: 'attached' });
}

/** Console assets the page could not load (other test files rebuild the console while this one runs). */
const missingAssets = new WeakMap<Page, string[]>();

const withPage = async (viewport: typeof DESKTOP | typeof PHONE, fn: (page: Page) => Promise<void>) => {
  const context: BrowserContext = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  missingAssets.set(page, []);
  page.on('response', (res) => {
    if (res.status() === 404 && new URL(res.url()).pathname.startsWith('/assets/'))
      missingAssets.get(page)!.push(res.url());
  });
  try {
    await fn(page);
  } finally {
    await context.close();
  }
};

const documentsOf = async (collectionId: string) =>
  (await api.request('GET', `/v1/collections/${collectionId}/documents`, { key: ctx.tenant.key })).body!
    .documents as Json[];

/** A Markdown document of `n` sections: with sections not combined, one chunk each. */
const longMarkdown = (n: number) =>
  `# Operations handbook\n\n${Array.from(
    { length: n },
    (_, i) =>
      `## Procedure ${i + 1}\n\nStep ${i + 1} of the handbook: restart service ${i + 1} and check its health.\n`,
  ).join('\n')}`;

/** A drop of real files, in a DataTransfer made in the page, on the drop zone. */
const DROP_FILES = `(files) => {
  const dt = new DataTransfer();
  for (const [name, text] of files) dt.items.add(new File([text], name, { type: 'text/plain' }));
  const zone = document.querySelector('[data-testid=dropzone]');
  zone.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
  zone.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
}`;

/**
 * A drop of a whole folder: what Chromium gives for a folder dragged from the desktop (a directory entry whose
 * reader answers in pages, files read through entry.file()), built in the page over real File objects, since a
 * page cannot make a DataTransfer that holds a folder.
 */
const DROP_FOLDER = `([name, tree]) => {
  const entry = (name, node, parent) => {
    const fullPath = parent + '/' + name;
    if (typeof node === 'string') {
      const file = new File([node], name);
      return { isFile: true, isDirectory: false, name, fullPath, file: (ok) => setTimeout(() => ok(file), 0) };
    }
    const children = Object.entries(node).map(([n, c]) => entry(n, c, fullPath));
    return {
      isFile: false, isDirectory: true, name, fullPath,
      createReader() {
        let at = 0;
        return { readEntries(ok) { const page = children.slice(at, at + 2); at += 2; setTimeout(() => ok(page), 0); } };
      },
    };
  };
  const root = entry(name, tree, '');
  const transfer = {
    items: [{ kind: 'file', webkitGetAsEntry: () => root, getAsFile: () => null }],
    files: [],
    types: ['Files'],
  };
  const drop = new DragEvent('drop', { bubbles: true, cancelable: true });
  Object.defineProperty(drop, 'dataTransfer', { value: transfer });
  document.querySelector('[data-testid=dropzone]').dispatchEvent(drop);
}`;

/**
 * Follows a link in the app. A page whose console was rebuilt since it loaded (by another test file, in the shared
 * working tree) cannot fetch the next page's code; only then is the link's address loaded afresh.
 */
async function follow(page: Page, link: Locator, url: RegExp): Promise<void> {
  const missingBefore = missingAssets.get(page)!.length;
  await link.click();
  try {
    await page.waitForURL(url, { timeout: 10_000 });
  } catch (err) {
    if (missingAssets.get(page)!.length === missingBefore) throw err;
    await page.goto(new URL((await link.getAttribute('href'))!, api.base).href);
    await page.waitForURL(url);
  }
}

/** Runs one of the drops above in the page (a string: the tests compile without the DOM library). */
const dropOn = (page: Page, drop: string, arg: unknown) => page.evaluate(`(${drop})(${JSON.stringify(arg)})`);

it('creates a collection, uploads dropped files and folders with progress, and manages its documents (1280×800)', async () => {
  const name = `handbook-${crypto.randomUUID().slice(0, 8)}`;
  await withPage(DESKTOP, async (page) => {
    await signIn(page, '/runs');
    await follow(page, page.getByTestId('nav-knowledge'), /\/knowledge$/);
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Knowledge');

    // Create a collection in the form: sections kept apart, so the long document has a chunk per procedure.
    await page.getByTestId('collection-name').fill(name);
    await page.getByTestId('collection-description').fill('Runbooks of the operations team');
    await page.getByTestId('collection-chunk-size').fill('300');
    await page.getByTestId('collection-overlap').fill('40');
    await page.getByTestId('collection-combine').uncheck();
    await page.getByTestId('collection-create').click();
    await expect.poll(() => page.getByTestId('knowledge-notice').textContent()).toContain(name);
    const row = page.getByTestId('collection-row').filter({ hasText: name });
    await row.waitFor();
    expect(await row.textContent()).toContain('Runbooks of the operations team');
    const collectionId = (await row.getAttribute('data-collection-id'))!;
    const created = await api.request('GET', `/v1/collections/${collectionId}`, { key: ctx.tenant.key });
    expect(created.body).toMatchObject({ name, chunkSize: 300, chunkOverlap: 40, combineSections: false });
    await saveScreenshot(page, 'knowledge');

    await follow(page, row.getByTestId('collection-link'), new RegExp(`/knowledge/${collectionId}$`));
    await expect.poll(() => page.getByTestId('collection-title').textContent()).toContain(name);

    // A drop of a file, then of a folder with a subfolder, a hidden file (left out) and a file that cannot be read.
    await dropOn(page, DROP_FILES, [['notes.txt', 'Loose notes: the pager rotation changes on Mondays.']]);
    await dropOn(page, DROP_FOLDER, [
      'runbooks',
      {
        'guide.md': '# Guide\n\nStart here.\n\n## Escalation\n\nCall the on-call engineer after 15 minutes.\n',
        '.DS_Store': 'hidden',
        sub: { 'long.md': longMarkdown(26), 'broken.pdf': '%PDF-1.7\n' + 'x'.repeat(64) },
      },
    ]);
    const items = page.getByTestId('upload-item');
    await expect
      .poll(() => items.evaluateAll((els) => els.map((e) => e.getAttribute('data-path'))))
      .toEqual(['notes.txt', 'runbooks/guide.md', 'runbooks/sub/broken.pdf', 'runbooks/sub/long.md']);
    await expect
      .poll(() => items.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))), { timeout: 30_000 })
      .toEqual(['stored', 'stored', 'stored', 'stored']);
    expect(await page.getByTestId('upload-summary').textContent()).toContain('4 of 4 files uploaded');
    for (const bar of await items.getByRole('progressbar').all())
      expect(await bar.getAttribute('aria-valuenow')).toBe('100');

    // The ingest runs' bar fills and stops; the file that cannot be read is named with its reason.
    const progress = page.getByTestId('ingest-progress');
    await progress.waitFor();
    await page.getByTestId('ingest-done').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('ingest-count').textContent()).toContain('4 of 4 documents processed');
    expect(await page.getByTestId('ingest-failed').textContent()).toContain('1 failed');
    expect(await page.getByTestId('ingest-failures').textContent()).toContain('broken.pdf');
    expect(await progress.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    const runLinks = progress.getByTestId('ingest-run-link');
    expect(await runLinks.count()).toBe(2);
    expect(await runLinks.first().getAttribute('href')).toMatch(/^\/runs\/ingest%3A/);

    // The documents with their chunk counts, as the API has them; the failed one with its reason.
    const docs = await documentsOf(collectionId);
    expect(docs.map((d) => d.title).sort()).toEqual(['broken.pdf', 'guide.md', 'long.md', 'notes.txt']);
    const docRow = (n: string) => page.locator(`[data-testid=document-row][data-name="${n}"]`);
    for (const d of docs) {
      await expect.poll(() => docRow(d.title).getByTestId('document-status').textContent()).toBe(d.status);
      expect(await docRow(d.title).getByTestId('document-chunks').textContent()).toBe(String(d.chunkCount));
    }
    expect(docs.find((d) => d.title === 'long.md')!.chunkCount).toBeGreaterThan(20);
    expect(await docRow('broken.pdf').getByTestId('document-status').textContent()).toBe('failed');
    expect((await docRow('broken.pdf').getByTestId('document-error').textContent())!.length).toBeGreaterThan(5);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'knowledge-collection');

    // A document: its summary, its chunks page by page, a re-ingest of it alone.
    const long = docs.find((d) => d.title === 'long.md')!;
    await follow(page, docRow('long.md').getByTestId('document-link'), new RegExp(`/knowledge/documents/${long.id}$`));
    await expect.poll(() => page.getByTestId('document-title').textContent()).toContain('long.md');
    expect(await page.getByTestId('document-chunk-count').textContent()).toBe(String(long.chunkCount));
    expect(await page.getByTestId('document-collection').textContent()).toContain(name);
    expect(await page.getByTestId('document-run').getAttribute('href')).toBe(
      `/runs/${encodeURIComponent(long.lastIngestWorkflowId)}`,
    );
    await expect.poll(() => page.getByTestId('chunk').count()).toBe(20);
    expect(await page.getByTestId('chunk-heading').first().textContent()).toContain('Operations handbook');
    await page.getByTestId('chunks-more').click();
    await expect.poll(() => page.getByTestId('chunk').count()).toBe(long.chunkCount);
    expect(await page.getByTestId('chunks-more').count()).toBe(0);
    expect(await page.getByTestId('chunk').last().textContent()).toContain('service 26');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'knowledge-document');

    await page.getByTestId('document-reingest').click();
    await page.getByTestId('ingest-done').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('ingest-count').textContent()).toContain('1 of 1 documents processed');
    const after = (await api.request('GET', `/v1/documents/${long.id}`, { key: ctx.tenant.key })).body!.document;
    expect(after.lastIngestWorkflowId).not.toBe(long.lastIngestWorkflowId);
    expect(after.status).toBe('ready');

    // Back to the collection: delete a document after a confirmation that names it and what goes with it.
    await follow(page, page.getByTestId('document-collection'), new RegExp(`/knowledge/${collectionId}$`));
    await docRow('notes.txt').getByTestId('document-delete').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toMatch(/notes\.txt.*chunk/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await docRow('notes.txt').count()).toBe(1);
    await docRow('notes.txt').getByTestId('document-delete').click();
    await page.getByTestId('confirm-button').click();
    await docRow('notes.txt').waitFor({ state: 'detached' });
    expect((await documentsOf(collectionId)).map((d) => d.title)).not.toContain('notes.txt');

    // Re-ingest one document from the list.
    await docRow('guide.md').getByTestId('document-reingest').click();
    await expect.poll(() => page.getByTestId('collection-notice').textContent()).toContain('guide.md');
    await page.getByTestId('ingest-done').waitFor({ timeout: 60_000 });

    // A URL with credentials is refused by the API, and the page says which line and why.
    await page.getByTestId('urls-text').fill('https://example.com/ok.html\nhttps://ops:hunter2@example.com/private');
    await page.getByTestId('urls-submit').click();
    const refusal = page.getByTestId('urls-form').getByTestId('error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('Line 2 was refused');
    expect(await refusal.textContent()).toContain('url_credentials_not_allowed');
    expect(await refusal.textContent()).not.toContain('hunter2');

    // Delete the collection, after a confirmation that names it.
    await page.getByTestId('collection-delete').click();
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(name);
    expect(await dialog.textContent()).toContain('3 documents');
    await page.getByTestId('confirm-button').click();
    await page.waitForURL(/\/knowledge$/);
    await page.getByTestId('collections-table').waitFor();
    expect(await page.getByTestId('collection-row').filter({ hasText: name }).count()).toBe(0);
    expect((await api.request('GET', `/v1/collections/${collectionId}`, { key: ctx.tenant.key })).status).toBe(404);
  });
});

it('fits a phone and shows a viewer no write controls: collections, a collection, a document and the answers that cited it (390×844)', async () => {
  const collectionId = await ingestCorpus(ctx, api, { body: { description: 'Python standard library notes' } });
  const answer = await api.request('POST', '/v1/answers?wait=true', {
    key: ctx.tenant.key,
    body: { question: 'What is the default pickle protocol?', collectionIds: [collectionId] },
  });
  expect(answer.status).toBe(200);
  const pickle = (await documentsOf(collectionId)).find((d) => d.title === 'pickle.md')!;

  await withPage(PHONE, async (page) => {
    await signIn(page, '/knowledge', viewerEmail);
    const row = page.locator(`[data-testid=collection-row][data-collection-id="${collectionId}"]`);
    await row.waitFor();
    expect(await row.getByTestId('collection-documents').textContent()).toContain('3');
    expect(await page.getByTestId('collection-form').count()).toBe(0);
    expect(await page.getByTestId('collection-delete').count()).toBe(0);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'knowledge');

    await follow(page, row.getByTestId('collection-link'), new RegExp(`/knowledge/${collectionId}$`));
    await page.locator('[data-testid=document-row][data-name="pickle.md"]').waitFor();
    expect(await page.getByTestId('document-row').count()).toBe(3);
    for (const control of ['dropzone', 'urls-form', 'reingest-all', 'collection-delete', 'document-delete'])
      expect(await page.getByTestId(control).count(), control).toBe(0);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'knowledge-collection');

    await follow(
      page,
      page.locator('[data-testid=document-row][data-name="pickle.md"]').getByTestId('document-link'),
      new RegExp(`/knowledge/documents/${pickle.id}$`),
    );
    await expect.poll(() => page.getByTestId('chunk').count()).toBe(pickle.chunkCount);
    const cited = page.getByTestId('citing-answer');
    await cited.first().waitFor();
    expect(await cited.first().getByRole('link').getAttribute('href')).toBe(`/answers/${answer.body!.id}`);
    expect(await cited.first().textContent()).toContain('What is the default pickle protocol?');
    expect(await page.getByTestId('document-reingest').count()).toBe(0);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'knowledge-document');
  });
});
