import { chromium, type Browser } from 'playwright-core';
import { inject } from 'vitest';

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
