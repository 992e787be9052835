import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminKeyFrom, prepareStack, type Stack } from '../stack';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console in real Chromium (Debian's, installed by .ci/run) against the real stack from `npm start`.
 * Screenshots go to test-results/ (not committed).
 */
const shots = fileURLToPath(new URL('../../test-results/screenshots', import.meta.url));
let stack: Stack;
let browser: Browser;
let key: string;

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
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

it('signs in, finds a run started through the API, and shows its steps and trace waterfall', async () => {
  const started = await api('/v1/system/self-test?wait=true', { method: 'POST', body: JSON.stringify({ probes: 2 }) });
  expect(started.status).toBe(200);
  const workflowId = started.body.workflowId as string;

  // Spans reach Postgres in batches; wait until the API, workflow and activity spans are all there.
  const wanted = ['POST /v1/system/self-test', 'RunWorkflow:selfTest', 'RunActivity:writeProbe'];
  const deadline = Date.now() + 30_000;
  let services: string[] = [];
  for (;;) {
    const trace = await api(`/v1/runs/${encodeURIComponent(workflowId)}/trace`);
    const spans = trace.body.spans as Array<{ name: string; service: string }>;
    services = [...new Set(spans.map((s) => s.service))].sort();
    if (wanted.every((w) => spans.some((s) => s.name === w))) break;
    if (Date.now() > deadline) throw new Error(`trace incomplete: ${spans.map((s) => s.name).join(', ')}`);
    await sleep(250);
  }
  expect(services).toEqual(['beyondcloud-api', 'beyondcloud-worker']);

  const page = await browser.newPage({ viewport: DESKTOP });
  try {
    await page.goto(`${stack.apiUrl}/runs`);
    await page.waitForURL(/\/sign-in/);
    await page.getByTestId('api-key-input').fill('bc_wrong_wrong_wrong_wrong_wrong_wrong_wrong_x');
    await page.getByTestId('sign-in-submit').click();
    await expect.poll(() => page.getByTestId('error').textContent()).toMatch(/invalid|revoked/i);

    await page.getByTestId('api-key-input').fill(key);
    await page.getByTestId('sign-in-submit').click();
    await page.waitForURL(/\/runs$/);
    expect(page.url()).not.toContain(key);

    // Rows show a short id; the full one is the row's data attribute (and the copy button's text).
    const row = page.locator(`[data-testid="run-row"][data-workflow-id="${workflowId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/completed/i);
    await page.screenshot({ path: join(shots, 'runs-list.png'), fullPage: true });

    await row.getByRole('link').first().click();
    await page.getByTestId('run-heading').waitFor();
    expect(await page.getByTestId('run-heading').textContent()).toContain(workflowId);

    const steps = page.getByTestId('step');
    await expect.poll(() => steps.count()).toBe(2);
    expect(await steps.first().textContent()).toContain('writeProbe');

    const bars = page.getByTestId('waterfall').getByTestId('span-bar');
    await expect.poll(() => bars.count()).toBeGreaterThanOrEqual(5);
    const barText = (await bars.allTextContents()).join('\n');
    for (const w of wanted) expect(barText).toContain(w);

    await bars.filter({ hasText: 'RunActivity:writeProbe' }).first().click();
    const detail = page.getByTestId('span-detail');
    await detail.waitFor();
    expect(await detail.textContent()).toContain(workflowId);
    await page.screenshot({ path: join(shots, 'run-waterfall.png'), fullPage: true });
    await saveScreenshot(page, 'run');

    // The same pages on a phone: nothing scrolls sideways (tables scroll inside their box or become cards).
    await page.goto(`${stack.apiUrl}/runs`);
    await row.waitFor();
    await saveScreenshot(page, 'runs');
    await page.setViewportSize(PHONE);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'runs');
    await row.getByRole('link').first().click();
    await page.getByTestId('run-heading').waitFor();
    await expect.poll(() => bars.count()).toBeGreaterThanOrEqual(5);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'run');
    await bars.filter({ hasText: 'RunActivity:writeProbe' }).first().click();
    await detail.waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'run-span');
    await page.setViewportSize(DESKTOP);
    await saveScreenshot(page, 'run-span');
  } finally {
    await page.close();
  }
});
