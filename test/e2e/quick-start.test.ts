import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../session-client';
import { adminKeyFrom, prepareStack, type Stack } from '../stack';
import { DESKTOP, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The README's quick start, done by a new user in real Chromium against `npm start` (the launcher on free ports, the
 * local provider, offline): the tenant and its first admin made with the README's CLI command, then everything else
 * in the browser — sign in, create a collection, upload a folder, watch it ingest, ask in Chat and get a cited
 * answer, open that answer's run and its trace, and find its model in the Usage charts and their tables.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
let stack: Stack;
let browser: Browser;
let email: string;
let folder: string;

/** A folder of Markdown files, as a team's handbook would be. */
const HANDBOOK: Record<string, string> = {
  'refunds.md':
    '# Refunds\n\nRefunds are paid within 14 days of the return arriving at the warehouse.\n\n' +
    '## Exceptions\n\nGift cards are not refunded.\n',
  'shipping.md': '# Shipping\n\nParcels ship on weekdays from the Leeds warehouse.\n',
  'support.md': '# Support\n\nThe support desk answers email within one working day.\n',
};

/** The README's `printf '%s' '<password>' | npm run cli -- tenants create …`, with the key `npm start` printed. */
async function createTenant(adminKey: string, name: string, adminEmail: string): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/cli.ts', 'tenants', 'create', name, '--admin-email', adminEmail, '--admin-password-stdin'],
    { cwd: root, env: { ...process.env, BC_API_URL: stack.apiUrl, BC_API_KEY: adminKey }, stdio: 'pipe' },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  child.stdin.end(PASSWORD);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code, out).toBe(0);
  return out;
}

beforeAll(async () => {
  stack = await prepareStack();
  const launched = stack.launch();
  await stack.untilUp(launched);
  const adminKey = adminKeyFrom(launched.output());
  expect(adminKey).toMatch(/^bc_/);
  email = uniqueEmail('ada');
  await createTenant(adminKey!, `acme-${crypto.randomUUID().slice(0, 6)}`, email);
  folder = join(await mkdtemp(join(inject('tmpDir'), 'quick-start-')), 'handbook');
  await mkdir(folder);
  for (const [name, text] of Object.entries(HANDBOOK)) await writeFile(join(folder, name), text);
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stopAll();
});

/** Each step's screenshot, numbered in the order a user meets them. */
let step = 0;
const shot = (page: Page, name: string) =>
  saveScreenshot(page, `quick-start-${String(++step).padStart(2, '0')}-${name}`);

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name });

it("does the README's quick start in the browser: sign in, collection, folder, ingest, chat, run and trace, cost", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    // Sign in with the email and password the CLI set.
    await page.goto(`${stack.apiUrl}/`);
    await page.waitForURL(/\/sign-in/);
    await shot(page, 'sign-in');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
    await expect.poll(() => page.getByTestId('identity-user').textContent()).toContain(email);

    // Knowledge: a new collection.
    await nav(page, 'Knowledge').click();
    await page.waitForURL(/\/knowledge$/);
    const name = `handbook-${crypto.randomUUID().slice(0, 6)}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create collection' }).click();
    const collectionLink = page.getByRole('link', { name, exact: true });
    await collectionLink.waitFor();
    await shot(page, 'collection-created');
    await collectionLink.click();
    await page.waitForURL(/\/knowledge\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain(name);

    // A whole folder through the folder picker; each file's upload, then the ingest's progress to done.
    await page.getByLabel('A folder to upload').setInputFiles(folder);
    const uploads = page.getByTestId('upload-summary');
    await expect.poll(() => uploads.textContent(), { timeout: 60_000 }).toContain('3 of 3 files uploaded');
    const progress = page.getByRole('region', { name: /ingest/i });
    await progress.waitFor();
    await shot(page, 'folder-uploading');
    await expect
      .poll(() => progress.textContent(), { timeout: 120_000 })
      .toMatch(/3 of 3 documents processed[\s\S]*done/);
    expect(await progress.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    expect(await progress.textContent()).not.toMatch(/[1-9] failed/);
    for (const file of Object.keys(HANDBOOK)) {
      const row = page.getByRole('row').filter({ hasText: file });
      await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain('ready');
    }
    await shot(page, 'ingest-done');

    // Chat: a conversation over the collection; the answer cites the refunds page.
    await nav(page, 'Chat').click();
    await page.waitForURL(/\/chat/);
    const newConversation = page.getByRole('button', { name: 'New conversation' });
    if (await newConversation.isVisible()) await newConversation.click();
    await page.getByRole('checkbox', { name: new RegExp(name) }).check();
    await page.getByLabel('First question').fill('How long do refunds take to be paid?');
    await page.getByRole('button', { name: 'Start and ask' }).click();
    await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByTestId('chat-live').textContent(), { timeout: 120_000 }).toBe('Answered.');
    const turn = page.getByRole('article').last();
    expect(await turn.textContent()).toContain('14 days');
    const sources = turn.getByRole('button', { name: /^Source \d+: / });
    await expect.poll(() => sources.count()).toBeGreaterThan(0);
    expect(await sources.allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('refunds.md')]));
    await shot(page, 'chat-answer');

    // The run of that answer: its summary, steps and the trace waterfall (a tree, and a table as its text).
    await turn.getByRole('link', { name: 'Open run' }).click();
    await page.waitForURL(/\/runs\/answer%3A/);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^answer:/);
    const trace = page.getByRole('region', { name: /Trace/ });
    const spans = trace.getByRole('tree', { name: 'Spans, in call order' }).getByRole('treeitem');
    await expect.poll(() => spans.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    // The workflow's own span is exported when the run ends, in a later batch: Refresh until it is there.
    const workflowSpan = async () => {
      if (/RunWorkflow:answer/.test((await spans.allTextContents()).join('\n'))) return true;
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      return false;
    };
    await expect.poll(workflowSpan, { timeout: 30_000 }).toBe(true);
    await trace.getByText('Spans as a table').click();
    const spanTable = trace.getByRole('table');
    await expect.poll(() => spanTable.getByRole('row').count()).toBeGreaterThanOrEqual(4);
    // The model call is a span of its own, named after the model (spans are exported in batches: Refresh until it is).
    const modelInTrace = async () => {
      const names = await spanTable.locator('tbody tr > :first-child').allTextContents();
      const model = names.map((n) => /^chat (\S+)$/.exec(n.trim())?.[1]).find(Boolean);
      if (!model) await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      return model ?? null;
    };
    await expect.poll(modelInTrace, { timeout: 30_000 }).not.toBeNull();
    const tracedModel = (await modelInTrace())!;
    await expectNoHorizontalOverflow(page);
    await shot(page, 'run-trace');

    // The answer's page names the model that wrote it: the one in the trace.
    await page.getByRole('link', { name: 'Open the answer' }).click();
    await page.waitForURL(/\/answers\/[0-9a-f-]{36}$/);
    const usage = page.getByRole('region', { name: 'Usage and latency' });
    const model = (await usage.locator('dt:text-is("Model") + dd').textContent())!.trim();
    expect(model).toBe(tracedModel);
    await shot(page, 'answer-model');

    // Usage: the cost and tokens charts, drawn, with their text alternatives naming that model.
    await nav(page, 'Usage').click();
    await page.waitForURL(/\/usage/);
    for (const chart of ['Cost', 'Tokens']) {
      const figure = page.getByRole('figure').filter({ has: page.getByRole('img', { name: new RegExp(`^${chart}`) }) });
      await expect
        .poll(() => figure.getByRole('img').first().getAttribute('aria-label'), { timeout: 30_000 })
        .toContain(model);
      await figure.getByText(`${chart} by model as a table`).click();
      const row = figure.getByRole('row').filter({ has: page.getByRole('rowheader', { name: model, exact: true }) });
      await row.waitFor();
      expect(await row.textContent()).toMatch(/\d/);
      await figure.locator('canvas').first().waitFor();
    }
    await shot(page, 'usage');
  } finally {
    await context.close();
  }
}, 420_000);
