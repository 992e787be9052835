import OpenAI from 'openai';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { ingestCorpus } from '../rag-fixtures';
import { DESKTOP, launchChromium, saveScreenshot, signInWithKey } from './browser';

/**
 * Issue 20's "done when": the official `openai` client, pointed at BeyondCloud's OpenAI-compatible base URL with an
 * API key, lists the models, streams a grounded, cited answer from a collection (the offline default model), and the
 * run it made is in the console: in the runs list, and on its run page with its steps and trace.
 */
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
let collectionName = '';

beforeAll(async () => {
  await ensureConsoleBuilt();
  ctx = await setupTestContext();
  api = await startTestApi(ctx);
  await ctx.startWorker();
  browser = await launchChromium();
  collectionName = `python-docs-${crypto.randomUUID().slice(0, 6)}`;
  await ingestCorpus(ctx, api, { body: { name: collectionName } });
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

it('an OpenAI client lists the models, streams a grounded cited answer, and the run is in the console', async () => {
  const client = new OpenAI({ baseURL: `${api.base}/v1/openai`, apiKey: ctx.tenant.key, maxRetries: 0 });
  const models = (await client.models.list()).data.map((m) => m.id);
  expect(models).toContain(`rag/${collectionName}`);

  const stream = await client.chat.completions.create({
    model: `rag/${collectionName}`,
    messages: [{ role: 'user', content: 'What is the default pickle protocol in Python 3.11?' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let content = '';
  let id = '';
  let extra: { workflowId: string; status: string; grounding: { passed: boolean }; sources: unknown[] } | undefined;
  for await (const chunk of stream) {
    id = chunk.id;
    content += chunk.choices[0]?.delta.content ?? '';
    extra ??= (chunk as unknown as { beyondcloud?: typeof extra }).beyondcloud;
  }
  expect(content).toMatch(/protocol 5/);
  expect(content).toMatch(/\[\d+\]/);
  expect(content).toContain('Sources:\n[');
  expect(extra).toMatchObject({ status: 'answered', grounding: { passed: true } });
  expect(extra!.sources.length).toBeGreaterThan(0);
  expect(extra!.workflowId).toBe(`answer:${ctx.tenant.id}:${id}`);

  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await signInWithKey(page, api.base, ctx.tenant.key, '/runs');
    // In the runs list, like any other answer run (visibility may take a moment).
    await expect
      .poll(
        async () => {
          await page.goto(`${api.base}/runs`);
          await page.getByTestId('run-row').first().waitFor();
          return page.locator(`[data-testid=run-row][data-workflow-id="${extra!.workflowId}"]`).count();
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBeGreaterThan(0);
    const row = page.locator(`[data-testid=run-row][data-workflow-id="${extra!.workflowId}"]`);
    expect(await row.getByTestId('run-what').textContent()).toContain('default pickle protocol');
    await row.getByTestId('run-link').click();
    await page.waitForURL((url) => url.pathname === `/runs/${encodeURIComponent(extra!.workflowId)}`);
    await expect.poll(() => page.getByTestId('run-heading').textContent()).toBe(extra!.workflowId);
    await page.getByTestId('waterfall').waitFor();
    expect(await page.getByTestId('error').count()).toBe(0);
    await saveScreenshot(page, 'openai-client-run');
  } finally {
    await context.close();
  }
});
