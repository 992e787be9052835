import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's saved agents page in real Chromium against the API, Temporal and a worker with the offline model:
 * an operator saves an agent, edits it, runs it with a goal (landing on the run's page), and deletes it; the page and
 * the Agents page that links to it fit a phone.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let email: string;

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  email = uniqueEmail('saved-agents');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email, role: 'operator', password: PASSWORD },
  });
  expect(added.status).toBe(201);
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

const row = (page: Page, name: string) => page.locator('[data-testid="saved-agent-row"]', { hasText: name });

it('saves, edits, runs and deletes an agent (1280×800)', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await signIn(page, '/agents');
    await page.getByTestId('agents-saved-link').click();
    await page.waitForURL((url) => url.pathname === '/agents/saved');
    await expect.poll(() => page.evaluate('document.title')).toContain('Saved agents');

    await page.getByTestId('saved-agent-new').click();
    await page.getByTestId('saved-agent-name').fill('Not Valid');
    await page.getByTestId('saved-agent-save').click();
    await page.getByTestId('saved-agent-form-error').waitFor();
    await page.getByTestId('saved-agent-name').fill('greeter');
    await page.getByTestId('saved-agent-description').fill('Says hello.');
    await page.getByTestId('saved-agent-instructions').fill('Be brief.');
    await page.getByTestId('saved-agent-save').click();
    await row(page, 'greeter').waitFor();
    await expect.poll(() => row(page, 'greeter').textContent()).toContain('Says hello.');

    await row(page, 'greeter').getByTestId('saved-agent-edit').click();
    expect(await page.getByTestId('saved-agent-instructions').inputValue()).toBe('Be brief.');
    await page.getByTestId('saved-agent-description').fill('Greets people.');
    await page.getByTestId('saved-agent-save').click();
    await expect.poll(() => row(page, 'greeter').textContent()).toContain('Greets people.');
    await saveScreenshot(page, 'saved-agents');

    await row(page, 'greeter').getByTestId('saved-agent-goal').fill('Say hello.');
    await row(page, 'greeter').getByTestId('saved-agent-run').click();
    await page.waitForURL((url) => url.pathname.startsWith('/agents/runs/'));
    const workflowId = decodeURIComponent(new URL(page.url()).pathname.slice('/agents/runs/'.length));
    expect(workflowId.startsWith(`agent:${ctx.tenant.id}:`)).toBe(true);
    await ctx.client.workflow.getHandle(workflowId).result();

    await page.goto(`${api.base}/agents/saved`);
    await row(page, 'greeter').getByTestId('saved-agent-delete').click();
    await page.getByTestId('confirm-button').click();
    await expect.poll(() => row(page, 'greeter').count()).toBe(0);
    const list = await api.request('GET', '/v1/agents/saved', { key: ctx.tenant.key });
    expect(list.body!.agents).toEqual([]);
  } finally {
    await context.close();
  }
});

it('fits a phone (390×844)', async () => {
  const made = await api.request('POST', '/v1/agents/saved', {
    key: ctx.tenant.key,
    body: { name: 'phone-check', description: 'A saved agent with a rather long description to wrap on a phone.' },
  });
  expect(made.status).toBe(201);
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await signIn(page, '/agents/saved');
    await row(page, 'phone-check').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'saved-agents');
    await page.goto(`${api.base}/agents`);
    await page.getByTestId('agents-saved-link').waitFor();
    await expectNoHorizontalOverflow(page);
  } finally {
    await context.close();
  }
});
