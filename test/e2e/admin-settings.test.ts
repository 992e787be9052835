import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { PASSWORD, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * Admin → Tenant settings in real Chromium against the API (test harness, local provider) serving the built console:
 * an admin sets the answer model, sees it kept after a reload and returns it to the platform default; a model the
 * local provider cannot serve is refused by the API and the refusal shows by its field; retention days are set and
 * checked; a viewer reads the same settings without a field to change them. At 1280×800 and 390×844.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let adminEmail: string;
let viewerEmail: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  browser = await launchChromium();
  adminEmail = uniqueEmail('admin');
  viewerEmail = uniqueEmail('viewer');
  for (const [email, role] of [
    [adminEmail, 'admin'],
    [viewerEmail, 'viewer'],
  ] as const) {
    const added = await api.request('POST', '/v1/members', {
      key: ctx.tenant.key,
      body: { email, role, password: PASSWORD },
    });
    expect(added.status).toBe(201);
  }
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

const settingsNow = async () => (await api.request('GET', '/v1/settings', { key: ctx.tenant.key })).body as Json;

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

const purpose = (page: Page, name: string): Locator =>
  page.locator(`[data-testid="model-purpose"][data-purpose="${name}"]`);

async function withPage(viewport: typeof DESKTOP | typeof PHONE, fn: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext(
    viewport === PHONE ? { viewport, isMobile: true, hasTouch: true } : { viewport },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  try {
    await fn(page);
  } finally {
    await context.close();
  }
}

it('sets the answer model, keeps it over a reload, refuses a model the platform cannot serve, and resets it (1280×800)', async () => {
  const before = await settingsNow();
  expect(before.provider).toBe('local');
  const platformAnswer = before.models.answer.platform as string;

  await withPage(DESKTOP, async (page) => {
    await signIn(page, adminEmail, '/admin/settings');
    const answer = purpose(page, 'answer');
    await answer.waitFor();
    expect(await page.getByTestId('model-purpose').count()).toBe(4);
    expect(await answer.getAttribute('data-source')).toBe('platform');
    expect(await answer.getByTestId('model-source').textContent()).toContain('Platform default');
    expect(await answer.getByTestId('model-current').textContent()).toBe(platformAnswer);
    expect(await page.getByTestId('models-editor').textContent()).toContain('LLM_PROVIDER is local');

    // The answer model set in the form, by its label: saved, marked as the tenant's, kept over a reload.
    const input = page.getByLabel('Answers', { exact: true });
    expect(await input.getAttribute('placeholder')).toBe(`platform default: ${platformAnswer}`);
    await input.fill('local-extractive-2');
    await page.getByTestId('models-save').click();
    await expect.poll(() => page.getByTestId('models-status').textContent()).toContain('Default models saved');
    await expect.poll(() => answer.getAttribute('data-source')).toBe('tenant');
    expect(await answer.getByTestId('model-source').textContent()).toContain("Tenant's default");
    expect(await answer.textContent()).toContain(`(platform default: ${platformAnswer})`);
    expect((await settingsNow()).models.answer).toEqual({
      model: 'local-extractive-2',
      source: 'tenant',
      platform: platformAnswer,
    });
    await page.reload();
    await answer.waitFor();
    expect(await answer.getAttribute('data-source')).toBe('tenant');
    expect(await answer.getByTestId('model-current').textContent()).toBe('local-extractive-2');
    expect(await page.getByLabel('Answers', { exact: true }).inputValue()).toBe('local-extractive-2');
    expect(await page.getByTestId('settings-updated').textContent()).toContain(adminEmail);
    // The other purposes still follow the platform.
    for (const other of ['judge', 'agent', 'embedding'])
      expect(await purpose(page, other).getAttribute('data-source')).toBe('platform');

    // A model the local provider cannot serve: the API's refusal, by the field it is about; nothing changed.
    await page.getByLabel('Answers', { exact: true }).fill('gpt-4o');
    await page.getByTestId('models-save').click();
    const error = answer.getByTestId('model-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('gpt-4o needs a model endpoint');
    expect(await page.getByLabel('Answers', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Answers', { exact: true }).getAttribute('aria-describedby')).toContain(
      (await error.getAttribute('id'))!,
    );
    expect(await page.getByTestId('model-error').count()).toBe(1);
    expect((await settingsNow()).models.answer.model).toBe('local-extractive-2');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-settings-models-refused');

    // "Use platform default": back to the platform's model, in the page and in the API.
    await answer.getByTestId('model-reset').click();
    await expect.poll(() => answer.getAttribute('data-source')).toBe('platform');
    expect(await page.getByTestId('models-status').textContent()).toContain(
      `Answers now use the platform default, ${platformAnswer}`,
    );
    expect(await answer.getByTestId('model-error').count()).toBe(0);
    expect(await answer.getByTestId('model-reset').count()).toBe(0);
    expect(await page.getByLabel('Answers', { exact: true }).inputValue()).toBe('');
    expect((await settingsNow()).models.answer).toEqual({
      model: platformAnswer,
      source: 'platform',
      platform: platformAnswer,
    });

    // Retention: days per kind, empty kept forever; a value out of range is refused by its field.
    const retention = page.getByTestId('retention-editor');
    await retention.waitFor();
    const answers = page.getByLabel('Answers: days kept');
    expect(await retention.textContent()).toContain(
      'Answers older than N days are deleted by the retention job, with their citations and claim verdicts. Empty keeps them forever.',
    );
    await answers.fill('0');
    await page.getByTestId('retention-save').click();
    await expect
      .poll(() => page.locator('[data-testid="retention-field"][data-kind="answers"]').textContent())
      .toContain('A whole number of days from 1 to 36,500');
    expect(await answers.getAttribute('aria-invalid')).toBe('true');
    await answers.fill('30');
    await page.getByLabel('Trace spans: days kept').fill('14');
    await page.getByTestId('retention-save').click();
    await expect.poll(() => page.getByTestId('retention-status').textContent()).toContain('Retention saved');
    expect((await settingsNow()).retention).toEqual({
      answers: 30,
      runEvents: null,
      spans: 14,
      modelCalls: null,
      audit: null,
      blobs: null,
    });
    await page.reload();
    await page.getByTestId('retention-editor').waitFor();
    expect(await page.getByLabel('Answers: days kept').inputValue()).toBe('30');
    // Emptied: that kind is kept forever again.
    await page.getByLabel('Trace spans: days kept').fill('');
    await page.getByTestId('retention-save').click();
    await expect.poll(async () => (await settingsNow()).retention.spans).toBeNull();
    expect((await settingsNow()).retention.answers).toBe(30);

    // The quotas are still there, read-only for an admin who is not a platform admin.
    await expect.poll(() => page.getByTestId('quota-row').count()).toBe(6);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-settings-admin');
  });
}, 120_000);

it('fits a phone (390×844): the settings, a refused model and the retention form do not scroll sideways', async () => {
  await withPage(PHONE, async (page) => {
    await signIn(page, adminEmail, '/admin/settings');
    const agent = purpose(page, 'agent');
    await agent.waitFor();
    await page.getByTestId('retention-editor').waitFor();
    await expectNoHorizontalOverflow(page);

    await page.getByLabel('Agents', { exact: true }).fill('a-rather-long-hosted-model-name-for-a-small-screen-2026-12');
    await page.getByTestId('models-save').click();
    await agent.getByTestId('model-error').waitFor();
    expect(await agent.getByTestId('model-error').textContent()).toContain('needs a model endpoint');
    await page.getByLabel('Agents', { exact: true }).fill('local-agent-phone');
    await page.getByTestId('models-save').click();
    await expect.poll(() => agent.getAttribute('data-source')).toBe('tenant');
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-settings-admin');

    await agent.getByTestId('model-reset').click();
    await expect.poll(() => agent.getAttribute('data-source')).toBe('platform');
    expect((await settingsNow()).models.agent.source).toBe('platform');
  });
}, 120_000);

it('shows a viewer the same settings, read-only, at both sizes', async () => {
  const set = await api.request('PUT', '/v1/settings', {
    key: ctx.tenant.key,
    body: { models: { judge: 'local-judge-strict' }, retention: { audit: 400 } },
  });
  expect(set.status).toBe(200);
  // A viewer's PUT is refused by the API; the page offers none.
  const viewerKey = await api.request('POST', '/v1/keys', {
    key: ctx.tenant.key,
    body: { name: 'settings-viewer', role: 'viewer' },
  });
  expect(viewerKey.status).toBe(201);
  const refused = await api.request('PUT', '/v1/settings', {
    key: viewerKey.body!.key as string,
    body: { models: { judge: null } },
  });
  expect(refused.status).toBe(403);

  await withPage(DESKTOP, async (page) => {
    await signIn(page, viewerEmail, '/admin/settings');
    const judge = purpose(page, 'judge');
    await judge.waitFor();
    expect(await judge.getAttribute('data-source')).toBe('tenant');
    expect(await judge.getByTestId('model-current').textContent()).toBe('local-judge-strict');
    expect(await judge.getByTestId('model-source').textContent()).toContain("Tenant's default");
    expect(await purpose(page, 'answer').getAttribute('data-source')).toBe('platform');
    expect(await page.getByTestId('models-editor').textContent()).toContain('Only an admin of the tenant can change');
    expect(await page.getByTestId('model-input').count()).toBe(0);
    expect(await page.getByTestId('model-reset').count()).toBe(0);
    expect(await page.getByTestId('models-save').count()).toBe(0);
    expect(await page.getByRole('textbox').count()).toBe(0);

    const rows = page.getByTestId('retention-row');
    await expect.poll(() => rows.count()).toBe(6);
    expect(await page.locator('[data-testid="retention-row"][data-kind="audit"]').textContent()).toContain('400 days');
    expect(await page.locator('[data-testid="retention-row"][data-kind="blobs"]').textContent()).toContain(
      'Kept forever',
    );
    expect(await page.getByTestId('retention-save').count()).toBe(0);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-settings-viewer');

    await page.setViewportSize(PHONE);
    await expect.poll(() => page.getByTestId('menu-button').isVisible()).toBe(true);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-settings-viewer');
  });
}, 90_000);
