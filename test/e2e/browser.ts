import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (installed by .ci/run), or CHROMIUM_PATH; playwright's own browsers are never downloaded. */
function chromiumPath(): string {
  const found = process.env.CHROMIUM_PATH || execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser || true']).toString().trim();
  if (!found) throw new Error('Chromium is not installed: `apt-get install chromium` (.ci/run does this)');
  return found;
}

/** Headless Chromium for the e2e tests, driven by playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
