import { describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import type { UsageLatency, UsageSummary, UsageTimeseries } from '../api/usage';
import UsageLatencyView from './usage-latency.vue';
import UsageSeriesChart from './usage-series-chart.vue';
import UsageSummaryView from './usage-summary.vue';

const render = (component: object, props: Record<string, unknown>) =>
  renderToString(createSSRApp({ render: () => h(component, props) }));

const totals = (costUsd: number, tokens = 0) => ({ calls: 1, inputTokens: tokens, outputTokens: 0, costUsd });

const series: UsageTimeseries = {
  from: '2026-12-01T00:00:00.000Z',
  to: '2026-12-03T00:00:00.000Z',
  bucket: 'day',
  groupBy: 'model',
  buckets: ['2026-12-01T00:00:00.000Z', '2026-12-02T00:00:00.000Z'],
  groups: [
    {
      key: 'gpt-4o-mini',
      label: 'gpt-4o-mini',
      totals: totals(0.5, 300),
      inputTokens: [100, 200],
      outputTokens: [0, 0],
      costUsd: [0.25, 0.25],
      calls: [1, 1],
      failedCalls: [0, 1],
    },
    {
      key: 'text-embedding-3-small',
      label: 'text-embedding-3-small',
      totals: totals(0.001, 50),
      inputTokens: [50, 0],
      outputTokens: [0, 0],
      costUsd: [0.001, 0],
      calls: [1, 0],
      failedCalls: [0, 0],
    },
  ],
};

describe('usage series chart', () => {
  it('has an aria-label summary and a table with a row per group and a column per bucket', async () => {
    const html = await render(UsageSeriesChart, { series, metric: 'cost', title: 'Cost by model' });
    expect(html).toContain('role="img"');
    expect(html).toMatch(
      /aria-label="Cost by model: \$0\.5010 cost in total over 2 days \(UTC\); largest: gpt-4o-mini \$0\.5000/,
    );
    expect(html.split('data-testid="usage-alt-row"').length - 1).toBe(2);
    expect(html).toContain('data-key="text-embedding-3-small"');
    expect(html.match(/<th scope="col" class="num"/g)).toHaveLength(3); // total + 2 buckets
  });

  it('says so when there were no calls', async () => {
    const html = await render(UsageSeriesChart, {
      series: { ...series, groups: [] },
      metric: 'tokens',
      title: 'Tokens',
    });
    expect(html).toContain('aria-label="Tokens: no model calls in these 2 days."');
    expect(html).toContain('No model calls in this range.');
  });
});

describe('usage summary', () => {
  it('shows the cost of failed and superseded attempts apart', async () => {
    const summary: UsageSummary = {
      from: series.from,
      to: series.to,
      totals: { calls: 10, inputTokens: 1000, outputTokens: 200, costUsd: 2 },
      failed: { calls: 2, inputTokens: 0, outputTokens: 0, costUsd: 0.25 },
      superseded: { calls: 1, inputTokens: 10, outputTokens: 10, costUsd: 0.5 },
      retries: { calls: 3, inputTokens: 10, outputTokens: 10, costUsd: 0.5 },
      errorRate: 0.2,
      retryRate: 0.3,
      wastedCostUsd: 0.75,
      byModel: [],
      byKind: [],
    };
    const html = await render(UsageSummaryView, { summary });
    expect(html).toMatch(/data-testid="usage-error-rate"[^>]*>\s*20%/);
    expect(html).toMatch(/data-testid="usage-retry-rate"[^>]*>\s*30%/);
    expect(html).toMatch(/data-testid="usage-failed-cost"[^>]*>\s*\$0\.2500/);
    expect(html).toMatch(/data-testid="usage-wasted-cost"[^>]*>\$0\.7500/);
  });
});

describe('usage latency', () => {
  it('tables p50 and p95 per run kind and summarises the histogram', async () => {
    const latency: UsageLatency = {
      from: series.from,
      to: series.to,
      runs: {
        total: 3,
        truncated: false,
        maxRuns: 5000,
        bucketsMs: [250, 1000],
        kinds: [
          {
            kind: 'answer',
            count: 3,
            running: 0,
            failed: 1,
            canceled: 0,
            errorRate: 1 / 3,
            p50Ms: 800,
            p95Ms: 1900,
            maxMs: 2000,
            histogram: [1, 1, 1],
          },
        ],
      },
      llm: { models: [{ model: 'gpt-4o-mini', provider: 'openai', calls: 2, p50Ms: 150, p95Ms: 195 }] },
    };
    const html = await render(UsageLatencyView, { latency });
    expect(html).toContain('data-kind="answer"');
    expect(html).toContain('aria-label="Run durations by kind: answer 3 runs, p50 800 ms, p95 1.90 s."');
    expect(html).toContain('&gt; 1 s');
    expect(html).toContain('33%');
  });
});
