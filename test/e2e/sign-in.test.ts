import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { UserSessionEntity } from '../../lib/db/entities';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { PASSWORD, uniqueEmail } from '../session-client';
import { PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * Signing in to the console as a user, in real Chromium against the API (built with the test harness) serving the
 * built console: email and password, the session cookie, a reload, an invitation link, and sign-out.
 */
const shots = fileURLToPath(new URL('../../test-results/screenshots', import.meta.url));
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

const liveSessions = (userId: string) =>
  ctx.orm.em.fork().count(UserSessionEntity, { userId, revokedAt: null, expiresAt: { $gt: new Date() } });

it('signs in with email and password, shows the runs page with the email, survives a reload, and signs out', async () => {
  const email = uniqueEmail('console');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email, role: 'operator', password: PASSWORD, displayName: 'Console User' },
  });
  expect(added.status).toBe(201);
  const userId = added.body!.userId as string;

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  try {
    await page.goto(`${api.base}/runs`);
    await page.waitForURL(/\/sign-in/);
    expect(await page.getByTestId('sso-link').count()).toBe(0); // no single sign-on configured
    await page.screenshot({ path: join(shots, 'sign-in-page.png'), fullPage: true });
    await saveScreenshot(page, 'sign-in');
    await page.getByTestId('email-input').fill(email);
    await page.getByTestId('password-input').fill('not the right password');
    await page.getByTestId('password-submit').click();
    await expect.poll(() => page.getByTestId('error').textContent()).toMatch(/email or password is wrong/i);

    await page.getByTestId('password-input').fill(PASSWORD);
    await page.getByTestId('password-submit').click();
    await page.waitForURL(/\/runs$/);
    await page.getByTestId('identity-user').waitFor();
    expect(await page.getByTestId('identity-user').textContent()).toBe(email);
    expect(await page.locator('.role-badge').textContent()).toBe('operator');
    await page.screenshot({ path: join(shots, 'signed-in-user.png'), fullPage: true });
    await saveScreenshot(page, 'signed-in-user');

    // A write from the console (start a self-test run) passes the CSRF check with the session cookie.
    await page.getByRole('button', { name: 'Start self-test run' }).first().click();
    await page.getByTestId('run-row').first().waitFor();
    expect(await page.getByTestId('run-row').first().textContent()).toContain('selftest');

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'bc_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookies.find((c) => c.name === 'bc_csrf')).toMatchObject({ httpOnly: false, sameSite: 'Strict' });
    // The page's script cannot read the session token.
    expect(await page.evaluate('document.cookie')).not.toContain(session.value);
    expect(await liveSessions(userId)).toBe(1);

    // A reload keeps the session (the cookie), and the header is filled again.
    await page.reload();
    await page.getByTestId('identity-user').waitFor();
    expect(page.url()).toMatch(/\/runs$/);

    // Sign-out is a write: it carries the CSRF header, so the server ends the session.
    await page.getByTestId('sign-out').click();
    await page.waitForURL(/\/sign-in/);
    await expect.poll(() => liveSessions(userId)).toBe(0);
    expect((await context.cookies()).map((c) => c.name)).not.toContain('bc_session');
    await page.goto(`${api.base}/runs`);
    await page.waitForURL(/\/sign-in/);
  } finally {
    await context.close();
  }
});

it('accepts an invitation link and lands signed in', async () => {
  const email = uniqueEmail('invited');
  const inv = await api.request('POST', '/v1/invitations', { key: ctx.tenant.key, body: { email, role: 'viewer' } });
  expect(inv.status).toBe(201);
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${api.base}${inv.body!.acceptPath as string}`);
    await page.getByRole('heading', { name: 'Accept your invitation' }).waitFor();
    await page.getByTestId('password-input').fill(PASSWORD);
    await page.getByTestId('password-submit').click();
    await page.waitForURL(/\/runs$/);
    await page.getByTestId('identity-user').waitFor();
    expect(await page.getByTestId('identity-user').textContent()).toBe(email);
    expect(await page.locator('.role-badge').textContent()).toBe('viewer');
  } finally {
    await context.close();
  }
});

it('shows why a single sign-on came back refused (/sign-in?error=<code>)', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  try {
    await page.goto(`${api.base}/sign-in?error=oidc_no_tenant`);
    await expect.poll(() => page.getByTestId('error').textContent()).toMatch(/not mapped to a tenant/i);
    expect(await page.getByTestId('error').textContent()).toContain('oidc_no_tenant');
  } finally {
    await context.close();
  }
});

it('fits a phone (390×844): the sign-in page, an invitation, and the signed-in header with its menu', async () => {
  const email = uniqueEmail('phone');
  const inv = await api.request('POST', '/v1/invitations', { key: ctx.tenant.key, body: { email, role: 'operator' } });
  expect(inv.status).toBe(201);
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  try {
    await page.goto(`${api.base}/sign-in?expired=1`);
    await page.getByTestId('password-form').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'sign-in');

    await page.goto(`${api.base}/sign-in?error=oidc_no_tenant`);
    await page.getByTestId('error').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'sign-in-error');

    await page.goto(`${api.base}${inv.body!.acceptPath as string}`);
    await page.getByRole('heading', { name: 'Accept your invitation' }).waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'sign-in-invitation');
    await page.getByTestId('password-input').fill(PASSWORD);
    await page.getByTestId('password-submit').click();
    await page.waitForURL(/\/runs$/);

    // Signed in: the navigation sits behind the menu button, and opening it keeps the page within the screen.
    const menu = page.getByTestId('menu-button');
    await menu.waitFor();
    expect(await page.getByTestId('identity-user').isVisible()).toBe(false);
    await expectNoHorizontalOverflow(page);
    await menu.click();
    await page.getByTestId('identity-user').waitFor();
    expect(await page.getByTestId('identity-user').textContent()).toBe(email);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'signed-in-user-menu');
  } finally {
    await context.close();
  }
});
