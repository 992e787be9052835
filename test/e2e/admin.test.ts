import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { PASSWORD, platformAdminKey, uniqueEmail } from '../session-client';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's Admin section in real Chromium against the API (built with the test harness) serving the built
 * console: an admin signs in with a password, adds a member, invites and revokes, creates a key (shown once, and it
 * works), revokes it, and finds all of it in the audit log; then the same pages on a phone.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let adminEmail: string;

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  browser = await launchChromium();
  adminEmail = uniqueEmail('admin');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email: adminEmail, role: 'admin', password: PASSWORD, displayName: 'Ada Admin' },
  });
  expect(added.status).toBe(201);
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

async function signIn(page: Page, email: string, path: string): Promise<void> {
  await page.goto(`${api.base}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('email-input').fill(email);
  await page.getByTestId('password-input').fill(PASSWORD);
  await page.getByTestId('password-submit').click();
  await page.waitForURL((url) => url.pathname === path);
  await page.getByTestId('identity-user').waitFor({ state: 'attached' });
}

const keyStatus = async (key: string) =>
  (await fetch(`${api.base}/v1/system/me`, { headers: { authorization: `Bearer ${key}` } })).status;

it('manages members, invitations and keys, and shows them in the audit log (1280×800)', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  try {
    await signIn(page, adminEmail, '/admin/members');
    expect(await page.getByTestId('menu-button').isVisible()).toBe(false);
    expect(await page.getByTestId('nav-admin').getAttribute('class')).toContain('router-link-active');
    // Focus went to the page's heading for screen readers.
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL(/\/admin\/keys$/);
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('API keys');
    await page.getByRole('link', { name: 'Members' }).click();
    await page.waitForURL(/\/admin\/members$/);

    // Add a member now, with a password.
    const memberEmail = uniqueEmail('bob');
    await page.getByTestId('mode-add').check();
    await page.getByTestId('member-email').fill(memberEmail);
    await page.getByTestId('member-role').selectOption('operator');
    await page.getByTestId('member-password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Add member' }).click();
    await expect.poll(() => page.getByTestId('admin-notice').textContent()).toContain(memberEmail);
    const memberRow = page.getByTestId('member-row').filter({ hasText: memberEmail });
    await memberRow.waitFor();
    expect(await memberRow.getByTestId('member-role-select').inputValue()).toBe('operator');

    // Change the role: it applies at once, as the API shows.
    await memberRow.getByTestId('member-role-select').selectOption('viewer');
    await expect.poll(() => page.getByTestId('admin-notice').textContent()).toContain('is now viewer');
    const members = await api.request('GET', '/v1/members', { key: ctx.tenant.key });
    expect(members.body!.members.find((m: { email: string }) => m.email === memberEmail).role).toBe('viewer');

    // Invite someone: the link is shown once; the invitation is pending until revoked (after a confirmation).
    const invitedEmail = uniqueEmail('carol');
    await page.getByTestId('mode-invite').check();
    await page.getByTestId('member-email').fill(invitedEmail);
    await page.getByRole('button', { name: 'Invite' }).click();
    await page.getByTestId('invitation-link').waitFor();
    expect(await page.getByTestId('invitation-link').locator('input').inputValue()).toMatch(
      /\/sign-in#invitation=bci_/,
    );
    const invitationRow = page.getByTestId('invitation-row').filter({ hasText: invitedEmail });
    await invitationRow.waitFor();
    await saveScreenshot(page, 'admin-members');
    await invitationRow.getByTestId('invitation-revoke').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(invitedEmail);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await invitationRow.count()).toBe(1);
    await invitationRow.getByTestId('invitation-revoke').click();
    await page.getByTestId('confirm-button').click();
    await invitationRow.waitFor({ state: 'detached' });

    // Remove the member, after a confirmation.
    await memberRow.getByTestId('member-remove').click();
    await page.getByTestId('confirm-button').click();
    await memberRow.waitFor({ state: 'detached' });

    // Create a key: shown once, with a warning, and it works against the API.
    await page.getByTestId('admin-tab-keys').click();
    await page.waitForURL(/\/admin\/keys$/);
    const keyName = `e2e-${crypto.randomUUID().slice(0, 8)}`;
    await page.getByTestId('key-name').fill(keyName);
    await page.getByTestId('key-role').selectOption('operator');
    await page.getByTestId('key-create').click();
    const shown = page.getByTestId('created-key');
    await shown.waitFor();
    expect(await shown.textContent()).toMatch(/shown only this once/i);
    const key = await page.getByTestId('created-key-value').inputValue();
    expect(key).toMatch(/^bc_/);
    expect(await keyStatus(key)).toBe(200);
    const me = await (await fetch(`${api.base}/v1/system/me`, { headers: { authorization: `Bearer ${key}` } })).json();
    expect(me).toMatchObject({ role: 'operator', key: { name: keyName } });
    const keyRow = page.getByTestId('key-row').filter({ hasText: keyName });
    await keyRow.waitFor();
    expect(await keyRow.textContent()).toContain(key.slice(0, 8));
    expect(await keyRow.textContent()).toContain(adminEmail); // created by
    await saveScreenshot(page, 'admin-keys');

    // Once dismissed, or after a reload, the key is nowhere on the page.
    await page.getByTestId('created-key-done').click();
    await shown.waitFor({ state: 'detached' });
    await page.reload();
    await keyRow.waitFor();
    expect(await page.content()).not.toContain(key);

    // Revoke it after a confirmation: the API refuses it from then on.
    await keyRow.getByTestId('key-revoke').click();
    expect(await page.getByTestId('confirm-dialog').textContent()).toContain(keyName);
    await page.getByTestId('confirm-button').click();
    await expect.poll(() => keyRow.textContent()).toMatch(/revoked/i);
    expect(await keyStatus(key)).toBe(401);

    // The audit log shows both, filtered by action, with the admin as the actor.
    await page.getByTestId('admin-tab-audit').click();
    await page.waitForURL(/\/admin\/audit$/);
    await page.getByTestId('audit-row').first().waitFor();
    await page.getByTestId('audit-action').fill('keys.*');
    await page.getByTestId('audit-actor').fill(adminEmail);
    await page.getByTestId('audit-apply').click();
    const actions = page.getByTestId('audit-action-cell');
    await expect.poll(async () => (await actions.allTextContents()).sort()).toEqual(['keys.create', 'keys.revoke']);
    expect(await page.getByTestId('audit-row').first().textContent()).toContain(adminEmail);
    await page.getByTestId('audit-action').fill('members.*');
    await page.getByTestId('audit-apply').click();
    await expect
      .poll(async () => (await actions.allTextContents()).sort())
      .toEqual(['members.create', 'members.delete', 'members.update']);
    // The export link carries the filters and downloads the same entries as JSON lines with the session cookie.
    const href = await page.getByTestId('audit-export').getAttribute('href');
    expect(href).toBe(`/v1/audit/export?actor=${encodeURIComponent(adminEmail)}&action=members.*`);
    const exported = await page.evaluate(async (url) => (await fetch(url)).text(), href!);
    expect(
      exported
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { action: string }).action)
        .sort(),
    ).toEqual(['members.create', 'members.delete', 'members.update']);
    await saveScreenshot(page, 'admin-audit');

    // Tenant settings: the name and the quotas, read-only for an admin who is not a platform admin.
    await page.getByTestId('admin-tab-settings').click();
    await page.waitForURL(/\/admin\/settings$/);
    await expect.poll(() => page.getByTestId('quota-row').count()).toBe(6);
    expect(await page.getByTestId('tenant-name').textContent()).toMatch(/^test-/);
    expect(await page.getByTestId('quota-editor').count()).toBe(0);
    await saveScreenshot(page, 'admin-settings');

    // Between a laptop and a phone (a tablet, a half-screen window) the header still fits in its row.
    await page.setViewportSize({ width: 1200, height: 800 });
    expect(await page.getByTestId('menu-button').isVisible()).toBe(false);
    await expectNoHorizontalOverflow(page);
    await page.setViewportSize({ width: 800, height: 800 });
    expect(await page.getByTestId('menu-button').isVisible()).toBe(true);
    await expectNoHorizontalOverflow(page);
  } finally {
    await context.close();
  }
}, 120_000);

it('fits a phone (390×844): the menu collapses and no admin page scrolls sideways', async () => {
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  try {
    await signIn(page, adminEmail, '/runs');
    const menu = page.getByTestId('menu-button');
    expect(await menu.isVisible()).toBe(true);
    expect(await page.getByTestId('nav-admin').isVisible()).toBe(false);
    await expectNoHorizontalOverflow(page);
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await saveScreenshot(page, 'menu-open');
    await page.getByTestId('nav-admin').click();
    await page.waitForURL(/\/admin\/members$/);
    expect(await page.getByTestId('nav-admin').isVisible()).toBe(false); // the menu closed behind the user

    // A long email in a member card, a key shown once, and the audit log's cards must all fit.
    await page.getByTestId('mode-add').check();
    await page.getByTestId('member-email').fill(uniqueEmail('a-rather-long-address-for-a-small-screen'));
    await page.getByTestId('member-password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByTestId('admin-notice').waitFor();
    await page.getByTestId('invitations-table').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-members');

    await page.getByTestId('admin-tab-keys').click();
    await page.waitForURL(/\/admin\/keys$/);
    await page.getByTestId('key-name').fill('phone');
    await page.getByTestId('key-create').click();
    await page.getByTestId('created-key').waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-keys');

    await page.getByTestId('admin-tab-audit').click();
    await page.waitForURL(/\/admin\/audit$/);
    await page.getByTestId('audit-row').first().waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-audit');

    await page.getByTestId('admin-tab-settings').click();
    await page.waitForURL(/\/admin\/settings$/);
    await page.getByTestId('quota-row').first().waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'admin-settings');
  } finally {
    await context.close();
  }
}, 120_000);

it('hides the admin pages from an operator and says which role they need', async () => {
  const email = uniqueEmail('operator');
  const added = await api.request('POST', '/v1/members', {
    key: ctx.tenant.key,
    body: { email, role: 'operator', password: PASSWORD },
  });
  expect(added.status).toBe(201);
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  try {
    await signIn(page, email, '/admin/keys');
    const notice = page.getByTestId('role-required');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/needs the admin role; you are signed in as operator/);
    // The section shows only what the role can use: the tenant's settings, read-only.
    await page.getByTestId('nav-admin').click();
    await page.waitForURL(/\/admin\/settings$/);
    expect(await page.getByTestId('admin-tabs').getByRole('link').allTextContents()).toEqual(['Tenant settings']);
    await expect.poll(() => page.getByTestId('quota-row').count()).toBe(6);
    // The default models and retention too, with nothing to change (admin-settings.test.ts has the editors).
    await expect.poll(() => page.getByTestId('model-purpose').count()).toBe(4);
    await page.getByTestId('retention-table').waitFor();
    for (const control of ['model-input', 'model-reset', 'models-save', 'retention-input', 'retention-save'])
      expect(await page.getByTestId(control).count(), control).toBe(0);
    await saveScreenshot(page, 'admin-settings-operator');
  } finally {
    await context.close();
  }
}, 60_000);

it("lets a platform admin set a tenant's quotas from the settings page (signed in with a key)", async () => {
  const platform = await platformAdminKey(ctx.orm);
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  try {
    await page.goto(`${api.base}/admin/settings`);
    await page.waitForURL(/\/sign-in/);
    await page.getByTestId('api-key-input').fill(platform.key);
    await page.getByTestId('sign-in-submit').click();
    await page.waitForURL(/\/admin\/settings$/);
    const editor = page.getByTestId('quota-editor');
    await editor.waitFor();
    await page.getByTestId('quota-tenant').locator(`option[value="${ctx.tenant.id}"]`).waitFor({ state: 'attached' });
    await page.getByTestId('quota-tenant').selectOption(ctx.tenant.id);
    const runs = page.getByTestId('quota-input-runsPerMinute');
    await runs.waitFor();

    // Not a whole number: refused in the form, nothing sent.
    await runs.fill('many');
    await page.getByTestId('quota-save').click();
    await expect.poll(() => editor.textContent()).toContain('A whole number');

    await runs.fill('30');
    await page.getByTestId('quota-save').click();
    await expect.poll(() => editor.textContent()).toContain('Quotas saved');
    const set = await api.request('GET', `/v1/tenants/${ctx.tenant.id}/quotas`, { key: platform.key });
    expect(set.body).toMatchObject({ overrides: { runsPerMinute: 30 }, limits: { runsPerMinute: 30 } });
    await saveScreenshot(page, 'admin-settings-platform');

    // Cleared: back to the platform default.
    await runs.fill('');
    await page.getByTestId('quota-save').click();
    await expect
      .poll(
        async () =>
          (await api.request('GET', `/v1/tenants/${ctx.tenant.id}/quotas`, { key: platform.key })).body!.overrides,
      )
      .toEqual({});
  } finally {
    await context.close();
  }
}, 60_000);
