import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminKeyFrom, prepareStack, type Stack } from '../stack';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The runs list and run page, readable: what each run is, tokens and cost, kind filters, sorting, whole-row links,
 * an ingest's documents as child runs, the waterfall's tree, filter, zoom and keys, JSON copy, and a cancel that
 * asks first and leaves its steps canceled. Real Chromium against the real stack.
 */
let stack: Stack;
let browser: Browser;
let key: string;

beforeAll(async () => {
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
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function signIn(page: Page, path: string) {
  await page.goto(`${stack.apiUrl}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('api-key-input').fill(key);
  await page.getByTestId('sign-in-submit').click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
}

async function ingest(): Promise<{ workflowId: string; collectionId: string }> {
  const created = await api('/v1/collections', {
    method: 'POST',
    body: JSON.stringify({ name: `e2e runs ${Date.now()}` }),
  });
  expect(created.status).toBe(201);
  const collectionId = created.body.id as string;
  const form = new FormData();
  form.append('file', new Blob([Buffer.from('# Refunds\n\nRefunds are paid within 14 days.')]), 'refunds.md');
  form.append('file', new Blob([Buffer.from('# Shipping\n\nParcels ship on weekdays.')]), 'shipping.md');
  const res = await fetch(`${stack.apiUrl}/v1/collections/${collectionId}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  expect(res.status).toBe(202);
  const workflowId = ((await res.json()) as { workflowId: string }).workflowId;
  const deadline = Date.now() + 120_000;
  while ((await api(`/v1/ingests/${encodeURIComponent(workflowId)}`)).body.status === 'running') {
    if (Date.now() > deadline) throw new Error('ingest did not finish');
    await sleep(250);
  }
  return { workflowId, collectionId };
}

it('lists runs readably, filters by every kind, sorts, and opens a run from its row', async () => {
  const selfTest = await api('/v1/system/self-test?wait=true', {
    method: 'POST',
    body: JSON.stringify({ probes: 2, note: 'e2e readable' }),
  });
  expect(selfTest.status).toBe(200);
  const selfTestId = selfTest.body.workflowId as string;
  const { workflowId: ingestId } = await ingest();

  const page = await browser.newPage({ viewport: DESKTOP });
  try {
    await signIn(page, '/runs');
    const rows = page.getByTestId('run-row');
    const selfRow = page.locator(`[data-testid="run-row"][data-workflow-id="${selfTestId}"]`);
    await selfRow.first().waitFor();
    expect(await selfRow.first().getByTestId('run-what').textContent()).toBe('self-test: 2 probes — e2e readable');
    const ingestRow = page.locator(`[data-testid="run-row"][data-workflow-id="${ingestId}"]`);
    await ingestRow.waitFor();
    expect(await ingestRow.getByTestId('run-what').textContent()).toMatch(/^2 documents → e2e runs/);
    // Short id shown, the full one in its title and on the copy button.
    const shortId = ingestRow.getByTestId('run-short-id');
    expect((await shortId.textContent())!.length).toBeLessThan(ingestId.length);
    expect(await shortId.getAttribute('title')).toBe(ingestId);
    expect(await ingestRow.getByTestId('run-tokens').textContent()).toBeTruthy();
    expect(await ingestRow.getByTestId('run-cost').textContent()).toBeTruthy();
    await saveScreenshot(page, 'runs-readable');

    // Every kind of the contracts is a filter option, and each filter asks the API for that kind.
    const options = await page
      .locator('#filter-kind option')
      .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value).filter(Boolean));
    expect(options).toEqual([
      'system',
      'llm',
      'ingest',
      'answer',
      'grounding',
      'search',
      'agent',
      'batch',
      'eval',
      'replay',
    ]);
    for (const kind of options) {
      const listed = page.waitForResponse((r) => r.url().includes('/v1/runs?') && r.url().includes(`kind=${kind}`));
      await page.locator('#filter-kind').selectOption(kind);
      expect((await listed).status()).toBe(200);
      await expect.poll(() => page.url()).toContain(`kind=${kind}`);
    }
    await page.locator('#filter-kind').selectOption('');
    await selfRow.first().waitFor();

    // Sorting by start time: newest first, then oldest first over the runs loaded.
    const starts = async () =>
      rows.locator('time').evaluateAll((els) => els.map((e) => Date.parse(e.getAttribute('datetime') ?? '')));
    const newest = await starts();
    expect(newest).toEqual([...newest].sort((a, b) => b - a));
    await page.getByTestId('runs-sort').click();
    await expect.poll(starts).toEqual([...newest].sort((a, b) => a - b));
    await page.getByTestId('runs-sort').click();

    // A click anywhere on the row (not just its link) opens the run; so does Enter on the row's link.
    await ingestRow.getByTestId('run-tokens').click();
    await page.waitForURL(new RegExp(`/runs/${encodeURIComponent(ingestId)}$`));
    await page.goBack();
    await ingestRow.getByTestId('run-link').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/runs/${encodeURIComponent(ingestId)}$`));

    // The ingest's page lists its documents with names, statuses and chunk counts, by the batch run that took them.
    const viaApi = await api(`/v1/runs/${encodeURIComponent(ingestId)}/children`);
    expect(viaApi.body.runs, JSON.stringify(viaApi.body)).toHaveLength(1);
    const children = page.getByTestId('child-run');
    await expect.poll(() => children.count(), { timeout: 20_000 }).toBe(1);
    expect((await page.getByTestId('child-document').allTextContents()).sort()).toEqual(['refunds.md', 'shipping.md']);
    for (const chunks of await page.getByTestId('child-chunks').allTextContents()) {
      expect(Number(chunks.trim())).toBeGreaterThan(0);
    }
    expect(await page.getByTestId('run-what').first().textContent()).toMatch(/2 documents →/);
    await page.getByTestId('run-collection-link').first().waitFor();
    await saveScreenshot(page, 'run-ingest');

    await page.setViewportSize(PHONE);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'run-ingest');
    await page.goto(`${stack.apiUrl}/runs`);
    await ingestRow.waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'runs-readable');
  } finally {
    await page.close();
  }
});

it('navigates the waterfall by keyboard, filters and zooms it, and copies JSON', async () => {
  const started = await api('/v1/system/self-test?wait=true', { method: 'POST', body: JSON.stringify({ probes: 2 }) });
  const workflowId = started.body.workflowId as string;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const trace = await api(`/v1/runs/${encodeURIComponent(workflowId)}/trace`);
    const names = (trace.body.spans as Array<{ name: string }>).map((s) => s.name);
    if (names.filter((n) => n === 'RunActivity:writeProbe').length >= 2) break;
    if (Date.now() > deadline) throw new Error(`trace incomplete: ${names.join(', ')}`);
    await sleep(250);
  }
  const context = await browser.newContext({ viewport: DESKTOP });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.apiUrl });
  const page = await context.newPage();
  try {
    await signIn(page, `/runs/${encodeURIComponent(workflowId)}`);
    const items = page.getByTestId('wf-tree').getByRole('treeitem');
    await expect.poll(() => items.count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    const all = await items.count();

    // Collapse all leaves the roots; expand all brings every span back.
    await page.getByTestId('wf-collapse-all').click();
    const collapsedCount = await items.count();
    expect(collapsedCount).toBeLessThan(all);
    await page.getByTestId('wf-expand-all').click();
    expect(await items.count()).toBe(all);

    // Keys: down moves, left collapses, right expands, Enter opens the span's detail.
    await items.first().focus();
    expect(await items.first().getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('ArrowLeft');
    expect(await items.first().getAttribute('aria-expanded')).toBe('false');
    expect(await items.count()).toBeLessThan(all);
    await page.keyboard.press('ArrowRight');
    expect(await items.first().getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('ArrowDown');
    const second = await items.nth(1).getAttribute('data-key');
    expect(await page.evaluate<string | null>("document.activeElement?.getAttribute('data-key') ?? null")).toBe(second);
    await page.keyboard.press('Enter');
    await page.getByTestId('span-detail').waitFor();
    expect(await items.nth(1).getAttribute('aria-selected')).toBe('true');

    // The filter keeps matching spans and the path to them.
    await page.getByTestId('wf-filter').fill('writeProbe');
    await expect.poll(() => items.count()).toBeLessThan(all);
    expect((await items.allTextContents()).join('\n')).toContain('RunActivity:writeProbe');
    await page.getByTestId('wf-filter').fill('');

    // Zoom in moves the axis; reset brings the whole trace back.
    const axis = async () => page.locator('.wf-tick').allTextContents();
    const before = await axis();
    await page.getByTestId('wf-zoom-in').click();
    expect(await axis()).not.toEqual(before);
    await page.getByTestId('wf-zoom-reset').click();
    expect(await axis()).toEqual(before);

    // The name column resizes from its handle by keyboard.
    const label = page.locator('.wf-axis .wf-label');
    const width = (await label.boundingBox())!.width;
    await page.getByTestId('wf-resize').focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(async () => (await label.boundingBox())!.width).toBeGreaterThan(width);

    // JSON wraps and copies.
    const input = page.getByTestId('json-viewer').first();
    await input.getByTestId('run-copy').click();
    const copied = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(JSON.parse(copied)).toEqual([expect.objectContaining({ probes: 2 })]);
    await saveScreenshot(page, 'run-waterfall-tree');
    await page.setViewportSize(PHONE);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'run-waterfall-tree');
  } finally {
    await context.close();
  }
});

it('asks before cancelling a run, and shows its open steps as canceled', async () => {
  const started = await api('/v1/system/self-test', {
    method: 'POST',
    body: JSON.stringify({ probes: 2, holdMs: 30_000 }),
  });
  expect(started.status).toBe(202);
  const workflowId = started.body.workflowId as string;
  const page = await browser.newPage({ viewport: PHONE });
  try {
    await signIn(page, `/runs/${encodeURIComponent(workflowId)}`);
    const cancel = page.getByTestId('cancel-run');
    await cancel.waitFor();
    await expect.poll(() => page.getByTestId('step').count()).toBeGreaterThanOrEqual(1);
    await cancel.click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    await expectNoHorizontalOverflow(page);
    // Declining leaves the run running.
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    expect((await api(`/v1/runs/${encodeURIComponent(workflowId)}`)).body.status).toBe('running');
    await cancel.click();
    await page.getByTestId('confirm-button').click();
    await expect
      .poll(async () => (await api(`/v1/runs/${encodeURIComponent(workflowId)}`)).body.status, { timeout: 30_000 })
      .toBe('canceled');
    const steps = page.getByTestId('step');
    await expect.poll(() => steps.first().textContent(), { timeout: 15_000 }).toMatch(/canceled/);
    expect((await steps.allTextContents()).join('\n')).not.toMatch(/\brunning\b|\bfailed\b/);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'run-canceled');
    await page.setViewportSize(DESKTOP);
    await saveScreenshot(page, 'run-canceled');
  } finally {
    await page.close();
  }
});
