import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect, inject } from 'vitest';

/** Debian's Chromium, found or installed by the test setup (test/tools.ts); playwright's own browsers are never downloaded. */
function chromiumPath(): string {
  const tool = inject('testTools').chromium;
  if (!tool.path) throw new Error(tool.problem);
  return tool.path;
}

/** Headless Chromium for the e2e tests, driven by playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** The sizes every page is checked at: a laptop and a phone (iPhone 12 to 15). */
export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** Screenshots of every page at every size, for people to look at (CI keeps the folder; git ignores it). */
export const SCREENSHOTS_DIR = fileURLToPath(new URL('./screenshots', import.meta.url));

/** Saves a full-page PNG as test/e2e/screenshots/<name>-<width>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const width = page.viewportSize()?.width ?? (await page.evaluate<number>('window.innerWidth'));
  const path = join(SCREENSHOTS_DIR, `${name}-${width}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

interface Overflow {
  scrollWidth: number;
  viewport: number;
  offenders: Array<{ element: string; right: number; width: number }>;
}

/**
 * Runs in the page (a string: the tests compile without the DOM library). Lists the elements past the right edge
 * that are not inside a box which scrolls or clips sideways (those do not widen the page).
 */
const MEASURE_OVERFLOW = `(() => {
  const doc = document.scrollingElement || document.documentElement;
  const viewport = window.innerWidth;
  const describe = (el) => {
    const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    const testId = el.getAttribute('data-testid');
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls + (testId ? '[data-testid=' + testId + ']' : '');
  };
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  const offenders = [];
  if (doc.scrollWidth > viewport) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= viewport + 0.5 || clipped(el)) continue;
      offenders.push({ element: describe(el), right: Math.round(r.right), width: Math.round(r.width) });
    }
  }
  return { scrollWidth: doc.scrollWidth, viewport, offenders };
})()`;

/**
 * Fails when the page scrolls sideways (`document.scrollingElement.scrollWidth` above `window.innerWidth`); the
 * message names the elements that reach furthest past the right edge, which is where a fix starts.
 */
export async function expectNoHorizontalOverflow(page: Page): Promise<void> {
  const result = await page.evaluate<Overflow>(MEASURE_OVERFLOW);
  const widest = result.offenders.sort((a, b) => b.right - a.right).slice(0, 8);
  expect(
    result.scrollWidth,
    `${page.url()} overflows horizontally: ${result.scrollWidth}px wide in a ${result.viewport}px viewport; ` +
      `widest: ${widest.map((o) => `${o.element} (right ${o.right}px, width ${o.width}px)`).join('; ')}`,
  ).toBeLessThanOrEqual(result.viewport);
}

/** Signs in to the console at `base` with an API key and lands on `path` (the sign-in page sends it back there). */
export async function signInWithKey(page: Page, base: string, key: string, path: string): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('api-key-input').fill(key);
  await page.getByTestId('sign-in-submit').click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
}
