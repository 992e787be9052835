import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../api/console';
import { setupTestContext, startTestApi, type TestContext } from '../harness';
import { startOpenAiServer, type OpenAiTestServer, type RecordedRequest, type Step } from '../openai-server';
import { CORPUS, ingestCorpus } from '../rag-fixtures';
import { kindOf, messagesOf, passageWith, scriptedJudge } from '../scripted-model';
import { DESKTOP, PHONE, expectNoHorizontalOverflow, launchChromium, saveScreenshot } from './browser';

/**
 * The console's Chat section in real Chromium against the API (test harness, real Temporal and worker) serving the
 * built console, answers from the scripted OpenAI-compatible model: a conversation over two collections, a streamed
 * answer with citations that open their passage, a follow-up rewritten from the history, an abstention listing the
 * passages considered, an answer held for review and approved in the thread; then the same on a phone.
 */
let server: OpenAiTestServer;
let ctx: TestContext;
let api: Awaited<ReturnType<typeof startTestApi>>;
let browser: Browser;
const collections: Array<{ id: string; name: string }> = [];

const PROTOCOL = 'default pickle protocol';
const DUMPS = 'json.dumps serializes';
const ADDED = 'added in Python 3.8';
const FOLLOW_UP = 'When was it added?';
const STANDALONE = 'When was pickle protocol 5 added?';
const OFF_TOPIC = 'What is the capital of France?';
const HELD = 'Which pickle protocol is the default?';

const questionOf = (r: RecordedRequest) =>
  /^Question: (.*)$/m.exec(messagesOf(r).find((m) => m.role === 'user')?.content ?? '')?.[1] ?? '';

/** The scripted model: answers by the question it is asked, streamed slowly enough to be seen arriving. */
function route(r: RecordedRequest): Step {
  switch (kindOf(r)) {
    case 'rewrite': {
      const user = messagesOf(r).find((m) => m.role === 'user')?.content ?? '';
      const followUp = /^Follow-up: (.*)$/m.exec(user)?.[1] ?? '';
      return { reply: { content: followUp === FOLLOW_UP && user.includes('protocol 5') ? STANDALONE : followUp } };
    }
    case 'generate':
    case 'generate_strict': {
      const q = questionOf(r);
      if (q === OFF_TOPIC) return { reply: { content: 'The documents do not say what the capital of France is.' } };
      if (q === STANDALONE)
        return { reply: { content: `Protocol 5 was added in Python 3.8 [${passageWith(r, ADDED)}].` } };
      if (q === HELD)
        return {
          reply: { content: `The default pickle protocol in Python 3.11 is protocol 4 [${passageWith(r, PROTOCOL)}].` },
        };
      return {
        reply: {
          content:
            `The default pickle protocol in Python 3.11 is protocol 5 [${passageWith(r, PROTOCOL)}]. ` +
            `json.dumps serializes an object to a JSON formatted str [${passageWith(r, DUMPS)}].`,
          streamChunkDelayMs: 80,
        },
      };
    }
    case 'judge':
      return scriptedJudge(r);
    case 'rerank': {
      const ns = [...(messagesOf(r)[1]?.content ?? '').matchAll(/^Passage (\d+):/gm)].map((m) => Number(m[1]));
      return { reply: { content: JSON.stringify({ ranking: ns }) } };
    }
    default:
      return { reply: { content: 'ok' } };
  }
}

beforeAll(async () => {
  await ensureConsoleBuilt();
  server = await startOpenAiServer({ apiKey: 'sk-test' });
  server.chat.enqueue(...Array.from({ length: 400 }, () => route));
  ctx = await setupTestContext({
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${server.url}/v1`,
    OPENAI_API_KEY: 'sk-test',
    LLM_EMBEDDING_DIMENSIONS: '8',
  });
  api = await startTestApi(ctx);
  await ctx.startWorker();
  // Two collections: pickle in one, json and asyncio in the other; the conversation answers from both.
  const { 'pickle.md': pickle, ...rest } = CORPUS;
  for (const [name, corpus] of [
    [`pickle-docs-${crypto.randomUUID().slice(0, 6)}`, { 'pickle.md': pickle! }],
    [`json-asyncio-${crypto.randomUUID().slice(0, 6)}`, rest],
  ] as const) {
    collections.push({ id: await ingestCorpus(ctx, api, { corpus, body: { name } }), name });
  }
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
  await server?.close();
});

async function signIn(page: Page, path: string): Promise<void> {
  await page.goto(`${api.base}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.getByTestId('api-key-input').fill(ctx.tenant.key);
  await page.getByTestId('sign-in-submit').click();
  await page.waitForURL((url) => url.pathname === path);
}

/** Starts a conversation over both collections in the form, with `question` asked first; returns its id. */
async function startConversation(page: Page, question: string, opts: { policy?: 'review' } = {}): Promise<string> {
  if (!(await page.getByTestId('new-conversation').isVisible()))
    await page.getByTestId('new-conversation-button').click();
  const form = page.getByTestId('new-conversation');
  for (const c of collections) await form.locator(`[data-testid="new-collection"][value="${c.id}"]`).check();
  // Every section of the small corpus in the context, so the scripted model always finds what it cites.
  await form.getByTestId('new-topk').fill('10');
  if (opts.policy) await form.getByTestId('new-policy').selectOption(opts.policy);
  await form.getByTestId('new-question').fill(question);
  await form.getByTestId('new-submit').click();
  await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

const lastTurn = (page: Page) => page.getByTestId('chat-turn').last();

/** Waits for the turn's answer to end in `status`, reading the thread. */
async function untilStatus(page: Page, status: string, turn = lastTurn(page)): Promise<void> {
  await expect.poll(() => turn.getAttribute('data-status'), { timeout: 60_000 }).toBe(status);
}

/** Samples the streaming text of the last turn until its answer is final; returns the distinct texts seen. */
async function streamedTexts(page: Page): Promise<string[]> {
  const seen: string[] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const turn = lastTurn(page);
    if ((await turn.getAttribute('data-status')) === 'answered') break;
    // Read in one go: the streaming text goes away when the answer is final.
    const text = (
      await turn.evaluate((el) => el.querySelector('.answer-text--streaming')?.textContent ?? '').catch(() => '')
    ).trim();
    if (text && seen.at(-1) !== text) seen.push(text);
    await page.waitForTimeout(40);
  }
  return seen;
}

it('chats over two collections: a streamed, cited answer, a follow-up, an abstention and a review (1280×800)', async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await signIn(page, '/chat');
    expect(await page.locator('h1').textContent()).toBe('Chat');
    await page.locator('[data-testid="nav-chat"].router-link-active').waitFor({ state: 'attached' });

    // A new conversation over both collections; the first answer streams in, token by token.
    const question = 'What is the default pickle protocol, and what does json.dumps do?';
    const conversationId = await startConversation(page, question);
    expect(await page.getByTestId('conversation-title').textContent()).toContain('What is the default pickle');
    const names = await page.getByTestId('conversation-collections').textContent();
    for (const c of collections) expect(names).toContain(c.name);
    const partial = await streamedTexts(page);
    await untilStatus(page, 'answered');
    const turn = lastTurn(page);
    const final = (await turn.getByTestId('answer-text').textContent())!;
    expect(final).toMatch(/protocol 5/);
    // Seen arriving: at least one partial text that the final answer starts with.
    expect(partial.some((t) => t.length < final.length && final.startsWith(t.replace(/\s+$/, '')))).toBe(true);
    await expect.poll(() => page.getByTestId('chat-live').textContent()).toBe('Answered.');

    // Citations from both collections; each [n] opens its passage.
    const chips = turn.getByTestId('chat-citation');
    expect(await chips.count()).toBe(2);
    expect(await chips.allTextContents()).toEqual([expect.stringMatching(/pickle/), expect.stringMatching(/json/)]);
    expect(await turn.getByTestId('verdict').allTextContents()).toEqual(['supported', 'supported']);
    expect(await turn.getByTestId('chat-grounding-score').textContent()).toBe('100% supported');
    await turn.getByTestId('citation-link').first().click();
    const dialog = page.getByTestId('passage-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.getByTestId('passage-text').textContent()).toContain('default pickle protocol in Python 3.11');
    expect(await dialog.textContent()).toContain('pickle.md');
    expect(await dialog.getByTestId('passage-location').textContent()).toContain('Protocols');
    expect(await dialog.getByTestId('passage-document-link').getAttribute('href')).toMatch(
      /^\/knowledge\/documents\/[0-9a-f-]{36}$/,
    );
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    const answerHref = await turn.getByTestId('chat-answer-link').getAttribute('href');
    expect(answerHref).toMatch(/^\/answers\/[0-9a-f-]{36}$/);
    expect(await turn.getByTestId('chat-run-link').getAttribute('href')).toBe(
      `/runs/${encodeURIComponent(`answer:${ctx.tenant.id}:${answerHref!.split('/').pop()}`)}`,
    );

    // A follow-up: rewritten from the history into a standalone question, answered from it.
    await page.getByTestId('composer-input').fill(FOLLOW_UP);
    await page.getByTestId('composer-send').click();
    await expect.poll(() => page.getByTestId('chat-turn').count()).toBe(2);
    await untilStatus(page, 'answered');
    expect(await lastTurn(page).getByTestId('answer-text').textContent()).toContain('Python 3.8');
    expect(await lastTurn(page).getByTestId('chat-query').textContent()).toContain(STANDALONE);
    const rewrite = server.requestsTo('/chat/completions').find((r) => kindOf(r) === 'rewrite');
    expect(messagesOf(rewrite!)[1]!.content).toContain(question);

    // Off the documents' topic: an abstention, with the passages it considered and why they did not answer.
    await page.getByTestId('composer-input').fill(OFF_TOPIC);
    await page.getByTestId('composer-input').press('Enter');
    await untilStatus(page, 'abstained');
    const abstained = lastTurn(page);
    expect(await abstained.getByTestId('chat-abstention').textContent()).toMatch(/None of the passages retrieved/);
    const considered = abstained.getByTestId('chat-considered-passage');
    expect(await considered.count()).toBeGreaterThan(0);
    expect(await abstained.getByTestId('chat-considered').textContent()).toContain('capital of France');
    expect(await abstained.getByTestId('chat-grounding-score').textContent()).toBe('No claims to check.');
    await considered.first().getByRole('button').click();
    await dialog.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await saveScreenshot(page, 'chat');

    // The list shows the conversation, newest first; the thread reloads from the API as it was.
    await page.reload();
    await expect.poll(() => page.getByTestId('chat-turn').count()).toBe(3);
    await untilStatus(page, 'abstained');
    const first = page.getByTestId('conversation-link').first();
    expect(await first.getAttribute('href')).toBe(`/chat/${conversationId}`);

    // A conversation whose answers below the threshold are held: approved right in the thread.
    await page.getByTestId('new-conversation-button').click();
    await startConversation(page, HELD, { policy: 'review' });
    await untilStatus(page, 'pending_review');
    const held = lastTurn(page);
    expect(await held.getByTestId('review-panel').textContent()).toContain('protocol 4');
    await expect.poll(() => page.getByTestId('chat-live').textContent()).toBe('Held for review.');
    await saveScreenshot(page, 'chat-review');
    await held.getByRole('textbox', { name: /Note/ }).fill('Checked by hand');
    await held.getByTestId('review-approve').click();
    await untilStatus(page, 'answered');
    expect(await held.getByTestId('chat-answer').textContent()).toMatch(/Approved.*Checked by hand/);
    expect(await page.getByTestId('conversation-link').first().getAttribute('href')).not.toBe(
      `/chat/${conversationId}`,
    );
  } finally {
    await context.close();
  }
}, 240_000);

it('fits a phone (390×844): the list folds above the thread, long words wrap, nothing scrolls sideways', async () => {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    await signIn(page, '/chat');
    await expectNoHorizontalOverflow(page);
    const list = page.getByTestId('conversation-list');
    expect(await list.isVisible()).toBe(false);
    await page.getByTestId('conversation-toggle').click();
    await list.waitFor({ state: 'visible' });
    expect(await page.getByTestId('conversation-link').count()).toBe(2);
    await expectNoHorizontalOverflow(page);

    // A new conversation from the phone, with a long unbroken URL in the question.
    const question =
      'https://docs.python.org/3/library/pickle.html#data-stream-format-and-protocols-explained-at-length — what is the default pickle protocol?';
    await startConversation(page, question);
    await untilStatus(page, 'answered');
    await expectNoHorizontalOverflow(page);
    await lastTurn(page).getByTestId('citation-link').first().click();
    await page.getByTestId('passage-dialog').waitFor({ state: 'visible' });
    await expectNoHorizontalOverflow(page);
    await page.keyboard.press('Escape');
    await saveScreenshot(page, 'chat');

    // The earlier conversation, with its abstention's passages, chosen from the folded list.
    await page.getByTestId('conversation-toggle').click();
    await page.getByTestId('conversation-link').filter({ hasText: 'json.dumps' }).click();
    await expect.poll(() => page.getByTestId('chat-turn').count()).toBe(3);
    await untilStatus(page, 'abstained');
    expect(await list.isVisible()).toBe(false);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, 'chat-thread');
  } finally {
    await context.close();
  }
}, 180_000);
