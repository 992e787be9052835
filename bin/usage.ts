/**
 * `npm run cli -- usage [--range 24h|7d|30d | --from <iso> --to <iso>]`: the tenant's model tokens and cost, failed
 * and retried attempts apart, then per model, per run kind and run durations per kind, from `/v1/usage/...` (the
 * same answers the console charts).
 */
import type { Command } from 'commander';
import type { UsageBreakdownRow, UsageLatency, UsageSummary } from '../lib/contracts/usage';

type Api = <T>(method: string, path: string) => Promise<T>;

const RANGES: Record<string, number> = { '24h': 1, '7d': 7, '30d': 30 };

const usd = (v: number) => `$${v.toFixed(v !== 0 && Math.abs(v) < 0.01 ? 6 : 4)}`;
const int = (v: number) => v.toLocaleString('en-US');
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const ms = (v: number | null) => (v === null ? '-' : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`);

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(head: string[], rows: string[][], right: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const breakdown = (title: string, rows: UsageBreakdownRow[]) =>
  rows.length
    ? `${title}\n${table(
        [title.split(' ').at(-1)!, 'calls', 'input tokens', 'output tokens', 'cost', 'failed', 'failed cost'],
        rows.map((r) => [
          r.label,
          int(r.calls),
          int(r.inputTokens),
          int(r.outputTokens),
          usd(r.costUsd),
          int(r.failedCalls),
          usd(r.failedCostUsd),
        ]),
        [false, true, true, true, true, true, true],
      )}`
    : `${title}\n(no model calls)`;

export function formatUsage(s: UsageSummary, l: UsageLatency): string {
  const t = s.totals;
  const lines = [
    `Usage from ${s.from} to ${s.to}`,
    '',
    `model calls      ${int(t.calls)} (${int(t.inputTokens)} input + ${int(t.outputTokens)} output tokens)`,
    `cost             ${usd(t.costUsd)}`,
    `failed attempts  ${int(s.failed.calls)} (${pct(s.errorRate)}), cost ${usd(s.failed.costUsd)}`,
    `superseded       ${int(s.superseded.calls)} successful calls of attempts retried later, cost ${usd(s.superseded.costUsd)}`,
    `retries          ${int(s.retries.calls)} calls (${pct(s.retryRate)}), cost ${usd(s.retries.costUsd)}`,
    `wasted           ${usd(s.wastedCostUsd)} on attempts that did not count`,
    '',
    breakdown('By model', s.byModel),
    '',
    breakdown('By run kind', s.byKind),
    '',
    'Run durations by kind',
    l.runs.kinds.length
      ? table(
          ['kind', 'runs', 'running', 'failed', 'error rate', 'p50', 'p95', 'max'],
          l.runs.kinds.map((k) => [
            k.kind,
            int(k.count),
            int(k.running),
            int(k.failed),
            pct(k.errorRate),
            ms(k.p50Ms),
            ms(k.p95Ms),
            ms(k.maxMs),
          ]),
          [false, true, true, true, true, true, true, true],
        )
      : '(no runs)',
  ];
  if (l.runs.truncated) lines.push(`(the newest ${l.runs.maxRuns} runs of the range)`);
  if (l.llm.models.length)
    lines.push(
      '',
      'Model-call latency (successful calls)',
      table(
        ['model', 'provider', 'calls', 'p50', 'p95'],
        l.llm.models.map((m) => [m.model, m.provider, int(m.calls), ms(m.p50Ms), ms(m.p95Ms)]),
        [false, false, true, true, true],
      ),
    );
  return lines.join('\n');
}

export function registerUsageCommand(program: Command, api: Api, fail: (message: string) => Error): void {
  program
    .command('usage')
    .description("the tenant's model tokens and cost, per model and run kind, and run durations")
    .option('--range <range>', 'the last 24h, 7d or 30d (default 7d)')
    .option('--from <iso>', 'start of the range (ISO date or instant)')
    .option('--to <iso>', 'end of the range (default now)')
    .option('--json', 'print the API answers as JSON')
    .action(async (o: { range?: string; from?: string; to?: string; json?: boolean }) => {
      if (o.range && (o.from || o.to)) throw fail('Give --range or --from/--to, not both.');
      if (o.range && !RANGES[o.range]) throw fail(`--range is one of ${Object.keys(RANGES).join(', ')}.`);
      const params = new URLSearchParams();
      if (o.range) params.set('from', new Date(Date.now() - RANGES[o.range]! * 86_400_000).toISOString());
      if (o.from) params.set('from', o.from);
      if (o.to) params.set('to', o.to);
      const query = params.size ? `?${params}` : '';
      const [summary, latency] = await Promise.all([
        api<UsageSummary>('GET', `/v1/usage/summary${query}`),
        api<UsageLatency>('GET', `/v1/usage/latency${query}`),
      ]);
      console.log(o.json ? JSON.stringify({ summary, latency }, null, 2) : formatUsage(summary, latency));
    });
}
