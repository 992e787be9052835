import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { AnswerRecord } from '../api/answer-types';
import { splitCitations } from '../lib/citations';
import { answerResult } from '../lib/test-fixtures';
import AnswerPage from '../pages/answer-page.vue';
import { useAnswerStore } from '../stores/answer';
import AnswerText from './answer-text.vue';
import { emptyLive } from '../lib/answer-stream';
import AnswersTable from './answers-table.vue';
import ChatTurn from './chat-turn.vue';
import CitationList from './citation-list.vue';
import GroundingReport from './grounding-report.vue';

async function render(component: object, props: Record<string, unknown>, pinia = createPinia()): Promise<string> {
  const app = createSSRApp({ render: () => h(component, props) });
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/:p(.*)*', component: { render: () => null } }],
  });
  app.use(router);
  app.use(pinia);
  await router.push('/');
  return renderToString(app);
}

const count = (html: string, needle: string) => html.split(needle).length - 1;

describe('answer text', () => {
  it('turns [n] and [n, m] markers into links to listed sources only', async () => {
    const html = await render(AnswerText, {
      text: 'Protocol 5 [1]. Added in 3.8 [1, 2]. Elsewhere [9].',
      cited: [1, 2],
    });
    expect(count(html, 'data-testid="citation-link"')).toBe(3);
    expect(count(html, 'href="#citation-1"')).toBe(2);
    expect(count(html, 'href="#citation-2"')).toBe(1);
    expect(html).not.toContain('href="#citation-9"');
    expect(html.replace(/<!--.*?-->/g, '')).toContain('Elsewhere <span class="cite">[9]</span>');
  });

  it('escapes the answer: model output is text, never markup', async () => {
    const html = await render(AnswerText, { text: '<img src=x onerror=alert(1)> [1]', cited: [1] });
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img');
  });

  it('splits text and markers losslessly', () => {
    const text = 'a [1] b [2, 3]c [x] [4]';
    const parts = splitCitations(text);
    expect(parts.map((p) => (p.kind === 'text' ? p.text : p.raw)).join('')).toBe(text);
    expect(parts.filter((p) => p.kind === 'cite').map((p) => (p.kind === 'cite' ? p.numbers : []))).toEqual([
      [1],
      [2, 3],
      [4],
    ]);
  });
});

describe('grounding report', () => {
  it('shows score against threshold and one verdict badge per claim', async () => {
    const { grounding, citations } = answerResult();
    const html = await render(GroundingReport, { report: grounding, cited: citations.map((c) => c.n) });
    expect(count(html, 'data-testid="claim-row"')).toBe(2);
    expect(count(html, 'data-testid="verdict"')).toBe(2);
    expect(html).toContain('data-verdict="supported"');
    expect(html).toContain('badge--supported');
    expect(html).toContain('badge--unsupported');
    expect(html).toContain('50%');
    expect(html).toContain('threshold 75%');
    expect(html).toContain('badge--below_threshold');
    expect(html).toContain('href="#citation-1"');
    expect(html).toContain('No evidence found');
  });
});

describe('grounding report without claims', () => {
  it('reads "no claims to check", never a 100% pass', async () => {
    const report = { ...answerResult().grounding!, score: 1, passed: true, claims: [] };
    const html = await render(GroundingReport, { report });
    expect(html).toContain('No claims to check.');
    expect(html).toContain('badge--no_claims');
    expect(html).not.toContain('100%');
    expect(html).not.toContain('badge--passed');
    expect(html).not.toContain('data-testid="claims-table"');
  });
});

describe('chat turn', () => {
  const base = {
    question: 'What is the default pickle protocol?',
    live: emptyLive(),
    sending: false,
    sendError: null,
    streamError: null,
    canReview: true,
    reviewing: false,
    reviewError: null,
  };
  const record = (extra: Partial<AnswerRecord>): AnswerRecord => ({
    id: 'a1',
    workflowId: 'answer:t1:a1',
    conversationId: 'c1',
    question: base.question,
    status: 'answered',
    answer: null,
    groundingScore: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    completedAt: null,
    ...extra,
  });

  it('streams the text so far under its phase', async () => {
    const html = await render(ChatTurn, {
      ...base,
      record: record({ status: 'running' }),
      live: { ...emptyLive(), phase: 'generating', text: 'The default pickle' },
    });
    expect(html).toContain('data-testid="chat-phase"');
    expect(html).toContain('Generating the answer');
    expect(html).toContain('The default pickle');
    expect(html).not.toContain('data-testid="chat-grounding"');
  });

  it('shows the answer with citations that open the passage, claim verdicts, score and links', async () => {
    const result = answerResult({ grounding: { ...answerResult().grounding!, score: 1, passed: true } });
    const html = await render(ChatTurn, { ...base, record: record({ result }) });
    expect(count(html, 'data-testid="citation-link"')).toBe(3);
    expect(count(html, 'data-testid="chat-citation"')).toBe(2);
    expect(count(html, 'data-testid="chat-claim"')).toBe(2);
    expect(html).toContain('data-verdict="unsupported"');
    expect(html).toContain('100% supported');
    expect(html).toContain('href="/answers/a1"');
    expect(html).toContain('href="/runs/answer%3At1%3Aa1"');
    expect(html).not.toContain('data-testid="chat-considered"');
  });

  it('shows an abstention with the passages considered and why, and no score', async () => {
    const result = answerResult({
      status: 'abstained',
      answer: 'The documents do not say.',
      citations: [],
      grounding: { ...answerResult().grounding!, score: 1, passed: true, claims: [] },
      considered: {
        passages: answerResult().citations,
        modelText: '- Passage 2 does not answer it (closest sentence similarity 0.12): “history”',
      },
    });
    const html = await render(ChatTurn, { ...base, record: record({ status: 'abstained', result }) });
    expect(html).toContain('data-testid="chat-abstention"');
    expect(count(html, 'data-testid="chat-considered-passage"')).toBe(2);
    expect(html).toContain('closest sentence similarity 0.12');
    expect(html).toContain('No claims to check.');
    expect(html).not.toContain('100%');
  });

  it('holds an answer for review with approve and reject for an operator, a notice for a viewer', async () => {
    const held = record({
      status: 'pending_review',
      live: {
        phase: 'pending_review',
        steps: [],
        pendingReview: {
          answer: 'Protocol 4 [1].',
          grounding: answerResult().grounding!,
          deadline: '2025-01-02T00:00:00Z',
        },
      },
    });
    const html = await render(ChatTurn, { ...base, record: held });
    expect(html).toContain('data-testid="review-approve"');
    expect(html).toContain('Protocol 4 ');
    const viewer = await render(ChatTurn, { ...base, record: held, canReview: false });
    expect(viewer).not.toContain('data-testid="review-approve"');
    expect(viewer).toContain('An operator or admin reviews it');
  });
});

describe('citations', () => {
  it('lists each source with heading path and page, its passage collapsed', async () => {
    const html = await render(CitationList, { citations: answerResult().citations });
    expect(count(html, 'data-testid="citation"')).toBe(2);
    expect(html).toContain('id="citation-1"');
    expect(html).toContain('pickle › Protocols');
    expect(html).toContain('page 4');
    expect(html).toContain('aria-expanded="false"');
    expect(html).toMatch(/<blockquote[^>]*style="display:none;"[^>]*>The default pickle protocol/);
  });
});

describe('answers table', () => {
  it('links each answer and shows its status and grounding score', async () => {
    const row: AnswerRecord = {
      id: 'b6f1',
      workflowId: 'answer:t1:b6f1',
      conversationId: null,
      question: 'What does asyncio.gather return?',
      status: 'pending_review',
      answer: null,
      groundingScore: 0.333,
      createdAt: '2025-01-01T00:00:00.000Z',
      completedAt: null,
    };
    const html = await render(AnswersTable, { answers: [row], loading: false });
    expect(count(html, 'data-testid="answer-row"')).toBe(1);
    expect(html).toContain('href="/answers/b6f1"');
    expect(html).toContain('badge--pending_review');
    expect(html).toContain('33%');
  });
});

describe('answer page', () => {
  const fetchMock = vi.fn<typeof fetch>();
  beforeEach(() => vi.stubGlobal('fetch', fetchMock));
  afterEach(() => {
    vi.unstubAllGlobals();
    fetchMock.mockReset();
  });

  it('renders a stored result: citation links, sources, verdict badges, usage, steps and the run link', async () => {
    const result = answerResult({
      regenerated: true,
      firstAttempt: { answer: 'Protocol 4 [1].', grounding: { ...answerResult().grounding!, score: 0 } },
    });
    const record: AnswerRecord = {
      id: 'a1',
      workflowId: result.workflowId,
      conversationId: null,
      question: result.question,
      status: 'answered',
      answer: result.answer,
      groundingScore: 0.5,
      createdAt: '2025-01-01T00:00:00.000Z',
      completedAt: '2025-01-01T00:00:01.000Z',
      result,
    };
    fetchMock.mockImplementation(() => Promise.resolve(new Response(JSON.stringify(record), { status: 200 })));
    const pinia = createPinia();
    setActivePinia(pinia);
    const store = useAnswerStore();
    store.answerId = 'a1';
    store.record = record;

    const html = await render(AnswerPage, { id: 'a1' }, pinia);
    expect(html).toContain('data-testid="answer-final"');
    expect(html).not.toContain('data-testid="answer-live"');
    expect(count(html, 'data-testid="citation-link"')).toBe(3);
    expect(count(html, 'data-testid="citation"')).toBe(2);
    expect(count(html, 'data-testid="verdict"')).toBe(4); // final and first attempt
    expect(html).toContain('data-testid="first-attempt"');
    expect(html).toContain('1,234 in');
    expect(html).toContain('$0.00042');
    expect(count(html, 'data-testid="answer-step"')).toBe(3);
    expect(html).toContain('href="/runs/answer%3At1%3Aa1"');
  });

  it('shows an abstention with the passages it considered, and no score for an answer without claims', async () => {
    fetchMock.mockImplementation(() => new Promise(() => undefined));
    const result = answerResult({
      status: 'abstained',
      answer: 'The documents do not say.',
      citations: [],
      grounding: { ...answerResult().grounding!, score: 1, passed: true, claims: [] },
      considered: {
        passages: answerResult().citations,
        modelText: '- Passage 1 does not answer it (closest sentence similarity 0.18): “pickle”',
      },
    });
    const pinia = createPinia();
    setActivePinia(pinia);
    const store = useAnswerStore();
    store.answerId = 'a4';
    store.record = {
      id: 'a4',
      workflowId: result.workflowId,
      conversationId: null,
      question: result.question,
      status: 'abstained',
      answer: result.answer,
      groundingScore: 1,
      createdAt: '2025-01-01T00:00:00.000Z',
      completedAt: '2025-01-01T00:00:01.000Z',
      result,
    };
    const html = await render(AnswerPage, { id: 'a4' }, pinia);
    expect(html).toContain('data-testid="answer-considered"');
    expect(count(html, 'data-testid="citation"')).toBe(2);
    expect(html).toContain('Did not answer it: closest sentence similarity 0.18.');
    expect(html).toContain('No claims to check.');
    expect(html).not.toContain('100%');
  });

  it('holds a failing answer for review: the held answer, its claims and the decision buttons', async () => {
    fetchMock.mockImplementation(() => new Promise(() => undefined));
    const pinia = createPinia();
    setActivePinia(pinia);
    const store = useAnswerStore();
    const held = answerResult().grounding!;
    store.answerId = 'a3';
    store.record = {
      id: 'a3',
      workflowId: 'answer:t1:a3',
      conversationId: null,
      question: 'Q?',
      status: 'pending_review',
      answer: null,
      groundingScore: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      completedAt: null,
      live: {
        phase: 'pending_review',
        steps: [],
        pendingReview: { answer: 'Protocol 4 [1].', grounding: held, deadline: '2025-01-02T00:00:00.000Z' },
      },
    };

    const html = await render(AnswerPage, { id: 'a3' }, pinia);
    expect(html).toContain('data-testid="review-panel"');
    expect(html).toContain('Protocol 4 ');
    expect(count(html, 'data-testid="verdict"')).toBe(2);
    expect(html).toContain('data-testid="review-approve"');
    expect(html).toContain('data-testid="review-reject"');
    expect(html).not.toContain('data-testid="answer-live"');
    expect(html).toContain('badge--pending_review');
  });

  it('streams while running: the phase and the text so far, no final sections', async () => {
    fetchMock.mockImplementation(() => new Promise(() => undefined));
    const pinia = createPinia();
    setActivePinia(pinia);
    const store = useAnswerStore();
    store.answerId = 'a2';
    store.record = {
      id: 'a2',
      workflowId: 'answer:t1:a2',
      conversationId: null,
      question: 'Q?',
      status: 'running',
      answer: null,
      groundingScore: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      completedAt: null,
    };
    store.live = { ...store.live, phase: 'generating', text: 'The default [1' };

    const html = await render(AnswerPage, { id: 'a2' }, pinia);
    expect(html).toContain('data-testid="answer-live"');
    expect(html).toContain('Generating the answer');
    expect(html).toContain('The default [1');
    expect(html).not.toContain('data-testid="answer-final"');
    expect(html).not.toContain('data-testid="claims-table"');
  });
});
