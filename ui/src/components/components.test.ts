import { describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { RunSummary, Step } from '../api/types';
import { span } from '../lib/test-fixtures';
import RunsTable from './runs-table.vue';
import StepTimeline from './step-timeline.vue';
import TraceWaterfall from './trace-waterfall.vue';

async function render(component: object, props: Record<string, unknown>): Promise<string> {
  const app = createSSRApp({ render: () => h(component, props) });
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/:p(.*)*', component: { render: () => null } }],
  });
  app.use(router);
  await router.push('/');
  return renderToString(app);
}

const count = (html: string, testId: string) => html.split(`data-testid="${testId}"`).length - 1;

describe('runs table', () => {
  const run: RunSummary = {
    workflowId: 'selftest:t1:abc',
    runId: 'r1',
    type: 'selfTest',
    kind: 'system',
    status: 'completed',
    startTime: '2025-01-01T00:00:00.000Z',
    closeTime: '2025-01-01T00:00:01.500Z',
    durationMs: 1500,
    taskQueue: 'beyondcloud',
    what: 'self-test: 1 probe',
    parentWorkflowId: null,
    tokens: { input: 1200, output: 34 },
    costUsd: 0.0021,
  };

  it('links each row to its run with the id encoded', async () => {
    const html = await render(RunsTable, { runs: [run, { ...run, runId: 'r2' }], now: new Date(), loading: false });
    expect(count(html, 'runs-table')).toBe(1);
    expect(count(html, 'run-row')).toBe(2);
    expect(html).toContain('href="/runs/selftest%3At1%3Aabc"');
    expect(html).toContain('1.50 s');
  });

  it('says what each run is, with a short id (the full one on hover and copy), tokens and cost', async () => {
    const html = await render(RunsTable, { runs: [run], now: new Date(), loading: false });
    expect(html).toContain('self-test: 1 probe');
    expect(html).toContain('>selftest:abc<');
    expect(html).toContain('title="selftest:t1:abc"');
    expect(html).toContain('aria-label="Copy the full workflow id selftest:t1:abc"');
    expect(html).toMatch(/1,200 in · 34 out/);
    expect(html).toContain('$0.0021');
    // One link per row: the row's other cells hold no link or button nested in it.
    expect(html).not.toMatch(/<a[^>]*>(?:(?!<\/a>).)*<button/s);
  });

  it('keeps the table while empty', async () => {
    const html = await render(RunsTable, { runs: [], now: new Date(), loading: true });
    expect(count(html, 'runs-table')).toBe(1);
    expect(count(html, 'run-row')).toBe(0);
    expect(html).toContain('Loading runs');
  });
});

describe('trace waterfall', () => {
  it('renders a tree item per span, indented by depth, positioned to scale, with a text alternative', async () => {
    const spans = [span('a', null, 0, 1000), span('b', 'a', 250, 500, { statusCode: 2 })];
    const html = await render(TraceWaterfall, { trace: { traceIds: ['t1'], spans } });
    expect(count(html, 'waterfall')).toBe(1);
    expect(count(html, 'span-bar')).toBe(2);
    expect(html).toMatch(/role="tree"/);
    expect(html).toMatch(/<li[^>]*role="treeitem"[^>]*aria-level="1"[^>]*aria-expanded="true"/);
    expect(html).toMatch(/<li[^>]*role="treeitem"[^>]*aria-level="2"/);
    expect(html).toContain('left:25%;width:50%;');
    expect(html).toContain('padding-left:1.35rem;');
    expect(count(html, 'wf-table')).toBe(1);
    expect(count(html, 'wf-resize')).toBe(1);
    expect(html).toContain('role="separator"');
    expect(html).toContain('wf-row--error');
    expect(count(html, 'span-detail')).toBe(0);
  });
});

describe('step timeline', () => {
  it('shows each step with attempts and its last failure', async () => {
    const steps: Step[] = [
      {
        activityId: '1',
        activityType: 'writeProbe',
        status: 'completed',
        scheduledTime: '2025-01-01T00:00:00.000Z',
        startedTime: '2025-01-01T00:00:00.100Z',
        closeTime: '2025-01-01T00:00:01.000Z',
        durationMs: 900,
        attempts: 2,
        lastFailure: 'connection reset',
        attemptsDetail: [
          {
            attempt: 1,
            startTime: '2025-01-01T00:00:00.100Z',
            endTime: '2025-01-01T00:00:00.200Z',
            durationMs: 100,
            status: 'error',
            error: 'connection reset',
          },
          {
            attempt: 2,
            startTime: '2025-01-01T00:00:00.300Z',
            endTime: '2025-01-01T00:00:01.000Z',
            durationMs: 700,
            status: 'ok',
          },
        ],
      },
    ];
    const html = await render(StepTimeline, {
      steps,
      runStart: '2025-01-01T00:00:00.000Z',
      runEnd: '2025-01-01T00:00:02.000Z',
      now: new Date(),
    });
    expect(count(html, 'steps')).toBe(1);
    expect(count(html, 'step')).toBe(1);
    expect(html).toContain('2 attempts');
    expect(html).toContain('connection reset');
    expect(html).toContain('aria-expanded="false"');
  });
});
