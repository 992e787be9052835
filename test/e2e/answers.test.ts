import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminKeyFrom, prepareStack, type Stack } from '../stack';
import { PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's Answers pages in real Chromium against the real stack from `npm start` (local provider, offline):
 * documents uploaded through the API, a question asked in the browser, the answer shown with its sources and
 * claim verdicts. Screenshots go to test-results/ (not committed).
 */
const shots = fileURLToPath(new URL('../../test-results/screenshots', import.meta.url));
let stack: Stack;
let browser: Browser;
let key: string;

const DOCS: Record<string, string> = {
  'pickle.md': `# pickle — Python object serialization

The pickle module implements binary protocols for serializing and de-serializing a Python object structure.

## Protocols

The default pickle protocol in Python 3.11 is protocol 5. Protocol 5 was added in Python 3.8 and supports out-of-band data.
`,
  'json.md': `# json — JSON encoder and decoder

## Basic usage

json.dumps serializes an object to a JSON formatted str. json.loads deserializes a str containing a JSON document to a Python object.
`,
};

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  stack = await prepareStack();
  const l = stack.launch();
  await stack.untilUp(l);
  key = adminKeyFrom(l.output())!;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stopAll();
});

async function api(path: string, init: RequestInit = {}) {
  const res = await fetch(stack.apiUrl + path, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A collection with DOCS uploaded as multipart and ingested (its ingest run completed, every document ready). */
async function ingestDocs(): Promise<{ id: string; name: string }> {
  const name = `python-docs-${crypto.randomUUID().slice(0, 8)}`;
  const created = await api('/v1/collections', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const form = new FormData();
  for (const [file, text] of Object.entries(DOCS))
    form.append('file', new Blob([text], { type: 'text/markdown' }), file);
  const upload = await api(`/v1/collections/${id}/documents`, { method: 'POST', body: form });
  expect(upload.status).toBe(202);
  const workflowId = upload.body.workflowId as string;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = await api(`/v1/runs/${encodeURIComponent(workflowId)}`);
    if (run.body.status === 'completed') break;
    if (run.body.status && run.body.status !== 'running')
      throw new Error(`ingest run ${run.body.status}: ${JSON.stringify(run.body.failure)}`);
    if (Date.now() > deadline) throw new Error('ingest run did not complete within 60 s');
    await sleep(250);
  }
  const docs = await api(`/v1/collections/${id}/documents`);
  expect(docs.body.documents.map((d: { status: string }) => d.status)).toEqual(['ready', 'ready']);
  return { id, name };
}

it('asks a question in the console and shows the answer with citation links and supported claims', async () => {
  const collection = await ingestDocs();
  const question = 'What is the default pickle protocol in Python 3.11?';

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
  try {
    await page.goto(`${stack.apiUrl}/answers`);
    await page.waitForURL(/\/sign-in/);
    await page.getByTestId('api-key-input').fill(key);
    await page.getByTestId('sign-in-submit').click();
    await page.waitForURL(/\/answers$/);
    await page.locator('[data-testid="nav-answers"].router-link-active').waitFor();

    const select = page.getByTestId('ask-collection');
    await select.locator(`option[value="${collection.id}"]`).waitFor({ state: 'attached' });
    await select.selectOption(collection.id);
    await page.getByTestId('ask-question').fill(question);
    await page.getByTestId('ask-submit').click();

    await page.waitForURL(/\/answers\/[0-9a-f-]{36}$/);
    const answerId = page.url().split('/').pop()!;
    await expect.poll(() => page.getByTestId('answer-question').textContent(), { timeout: 10_000 }).toBe(question);

    const final = page.getByTestId('answer-final');
    await final.waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('answer-status').textContent(), { timeout: 10_000 }).toMatch(/answered/i);
    expect(await page.getByTestId('answer-text').first().textContent()).toMatch(/protocol 5/);

    const links = final.getByTestId('citation-link');
    expect(await links.count()).toBeGreaterThan(0);
    const verdicts = page.getByTestId('claims-table').getByTestId('verdict');
    expect(await verdicts.count()).toBeGreaterThan(0);
    expect(await verdicts.allTextContents()).toContain('supported');

    // Following [n] opens that source's passage: the chunk the claim rests on.
    const n = (await links.first().textContent())!.trim();
    await links.first().click();
    const passage = page.locator(`#citation-${n}-text`);
    await passage.waitFor({ state: 'visible' });
    expect(await page.locator(`#citation-${n}`).textContent()).toContain('pickle.md');
    expect(await passage.textContent()).toContain('default pickle protocol');
    expect(await page.getByTestId('answer-step').count()).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('answer-run-link').getAttribute('href')).toBe(
      `/runs/${encodeURIComponent(`answer:${(await api('/v1/system/me')).body.tenant.id}:${answerId}`)}`,
    );
    await page.screenshot({ path: join(shots, 'answer.png'), fullPage: true });
    await saveScreenshot(page, 'answer');

    // The list shows it, answered, with its score.
    await page.getByTestId('nav-answers').click();
    const row = page.getByTestId('answer-row').filter({ hasText: question });
    await row.waitFor();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/answered.*100%/i);
    await page.screenshot({ path: join(shots, 'answers-list.png'), fullPage: true });
    await saveScreenshot(page, 'answers');

    // The same pages on a phone: the title wraps by word, the tables fit, nothing scrolls sideways.
    await page.setViewportSize(PHONE);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'answers');
    await row.getByRole('link').first().click();
    await final.waitFor();
    await expectNoHorizontalOverflow(page);
    // A word of the title is never split over lines: the heading is at least as wide as its longest word.
    const [titleWidth, longestWord] = await page.getByTestId('answer-question').evaluate((h) => {
      const probe = h.ownerDocument.createElement('span');
      probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap';
      h.append(probe);
      let widest = 0;
      for (const word of (h.textContent ?? '').trim().split(/\s+/)) {
        probe.textContent = word;
        widest = Math.max(widest, probe.getBoundingClientRect().width);
      }
      probe.remove();
      return [h.getBoundingClientRect().width, widest];
    });
    expect(titleWidth).toBeGreaterThanOrEqual(longestWord);
    await saveScreenshot(page, 'answer');
  } finally {
    await page.close();
  }
}, 180_000);
