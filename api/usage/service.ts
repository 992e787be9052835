import type { Client } from '@temporalio/client';
import { workflowIds, type RunKind } from '../../lib/contracts';
import {
  RUN_DURATION_BUCKETS_MS,
  type ModelLatency,
  type RunKindLatency,
  type UsageBreakdownRow,
  type UsageBucket,
  type UsageGroupBy,
  type UsageLatency,
  type UsageSeries,
  type UsageSummary,
  type UsageTimeseries,
  type UsageTotals,
} from '../../lib/contracts/usage';
import { TenantEntity } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { notFound } from '../../lib/errors';
import type { Principal } from '../auth/api-keys';
import { RunsService, type RunSummary } from '../runs/service';
import type { UsageRange } from './query';
import { bucketStarts, count, histogram, percentileCont, rate, usd } from './stats';

/**
 * Usage and cost of one tenant, aggregated in Postgres from the `llm_calls` rows (one per model-call attempt) and,
 * for run durations, read from Temporal's visibility the way the runs list reads it. Every query is scoped by the
 * tenant; nothing here takes a tenant from the request.
 */

/** The run kind of a call, from the prefix of its workflow id (lib/contracts `workflowIds`; children keep it). */
const KIND_OF_PREFIX: Record<string, RunKind> = {
  [workflowIds.selfTest('t', 'x').split(':')[0]!]: 'system',
  [workflowIds.completion('t', 'x').split(':')[0]!]: 'llm',
  [workflowIds.embedding('t', 'x').split(':')[0]!]: 'llm',
  [workflowIds.ingest('t', 'c', 'x').split(':')[0]!]: 'ingest',
  [workflowIds.answer('t', 'x').split(':')[0]!]: 'answer',
  [workflowIds.grounding('t', 'x').split(':')[0]!]: 'grounding',
  [workflowIds.search('t', 'x').split(':')[0]!]: 'search',
  [workflowIds.agent('t', 'x').split(':')[0]!]: 'agent',
};
const KIND_SQL = `case when c.workflow_id is null then 'none' ${Object.entries(KIND_OF_PREFIX)
  .filter(([prefix]) => /^[a-z-]+$/.test(prefix)) // constants, checked anyway: they are written into the SQL
  .map(([prefix, kind]) => `when split_part(c.workflow_id, ':', 1) = '${prefix}' then '${kind}'`)
  .join(' ')} else 'other' end`;

/** The tenant's calls in the range, with their run kind. Bindings: tenant, from, to. */
const CALLS_CTE = `calls as (
  select c.*, ${KIND_SQL} as kind from llm_calls c
  where c.tenant_id = ? and c.created_at >= ? and c.created_at < ?
)`;

/**
 * Who started each run with calls in the range: the first audit entry (a write, never a `key.use`) of any trace that
 * ran the workflow. Runs do not record the key that started them; the audit log records the request that did, and
 * its trace runs on into the workflow and its activities (and children), whose spans carry the workflow id.
 * Bindings: tenant.
 */
const STARTS_CTE = `run_traces as (
  select distinct s.workflow_id, s.trace_id from spans s
  where s.workflow_id in (select distinct workflow_id from calls where workflow_id is not null)
), starts as (
  select distinct on (t.workflow_id) t.workflow_id, a.actor_type, a.actor_id, a.actor_label
  from run_traces t join audit_log a on a.trace_id = t.trace_id
  where a.tenant_id = ? and a.action <> 'key.use' and a.actor_id is not null
  order by t.workflow_id, a.id
)`;

/** An attempt that succeeded but whose activity attempt failed afterwards: a later attempt of the same activity. */
const SUPERSEDED_SQL = `(c.outcome = 'ok' and c.activity_id is not null and c.attempt is not null and exists (
  select 1 from llm_calls l where l.tenant_id = c.tenant_id and l.workflow_id = c.workflow_id
    and l.run_id is not distinct from c.run_id and l.activity_id = c.activity_id and l.attempt > c.attempt))`;

const DIMENSIONS: Record<UsageGroupBy, { key: string; label: string }> = {
  model: { key: 'c.model', label: 'c.model' },
  kind: { key: 'c.kind', label: 'c.kind' },
  purpose: { key: 'c.purpose', label: 'c.purpose' },
  key: {
    key: `coalesce(st.actor_type || ':' || st.actor_id, 'unattributed')`,
    label: `coalesce(st.actor_label, 'not attributed')`,
  },
};

/** Calls, tokens and cost of the calls that meet `where`, as `<prefix>calls`, `<prefix>input_tokens`, ... */
const TOTALS_SQL = (where = 'true', prefix = '') => `
  count(*) filter (where ${where}) as ${prefix}calls,
  coalesce(sum(c.input_tokens) filter (where ${where}), 0) as ${prefix}input_tokens,
  coalesce(sum(c.output_tokens) filter (where ${where}), 0) as ${prefix}output_tokens,
  coalesce(sum(c.cost_usd) filter (where ${where}), 0) as ${prefix}cost_usd`;

type Row = Record<string, unknown>;

const totalsOf = (r: Row | undefined, prefix = ''): UsageTotals => ({
  calls: count(r?.[`${prefix}calls`]),
  inputTokens: count(r?.[`${prefix}input_tokens`]),
  outputTokens: count(r?.[`${prefix}output_tokens`]),
  costUsd: usd(r?.[`${prefix}cost_usd`]),
});

const FAILED_RUN_STATUSES = new Set(['failed', 'timed_out', 'terminated']);

/** At most this many runs are read per latency request (newest first); past it the answer says `truncated`. */
export const MAX_RUNS_READ = 5_000;

export class UsageService {
  private readonly runs: RunsService;

  constructor(
    private readonly orm: Orm,
    temporal: Client,
    namespace: string,
  ) {
    this.runs = new RunsService(temporal, orm, namespace);
  }

  /** The caller's tenant, or the one a platform admin names (as the audit log reads it); any other is not found. */
  async readableTenant(principal: Principal, requested?: string): Promise<string> {
    if (!requested || requested === principal.tenantId) return principal.tenantId;
    if (!principal.platformAdmin) throw notFound('Tenant');
    const tenant = await this.orm.em.fork().findOne(TenantEntity, { id: requested });
    if (!tenant) throw notFound('Tenant');
    return tenant.id;
  }

  private query(sql: string, params: unknown[]): Promise<Row[]> {
    return this.orm.em.getConnection().execute(sql, params) as Promise<Row[]>;
  }

  async summary(tenantId: string, range: UsageRange): Promise<UsageSummary> {
    const bind = [tenantId, range.from, range.to];
    const [[row], byModel, byKind] = await Promise.all([
      this.query(
        `with ${CALLS_CTE}, flagged as (
           select c.*, c.outcome <> 'ok' as failed, ${SUPERSEDED_SQL} as superseded,
             coalesce(c.attempt, 1) > 1 as retry
           from calls c
         )
         select ${TOTALS_SQL()},
           ${TOTALS_SQL('c.failed', 'failed_')},
           ${TOTALS_SQL('c.superseded', 'superseded_')},
           ${TOTALS_SQL('c.retry', 'retry_')}
         from flagged c`,
        bind,
      ),
      this.breakdown(tenantId, range, 'model'),
      this.breakdown(tenantId, range, 'kind'),
    ]);
    const totals = totalsOf(row);
    const failed = totalsOf(row, 'failed_');
    const superseded = totalsOf(row, 'superseded_');
    const retries = totalsOf(row, 'retry_');
    return {
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      totals,
      failed,
      superseded,
      retries,
      errorRate: rate(failed.calls, totals.calls),
      retryRate: rate(retries.calls, totals.calls),
      wastedCostUsd: usd(failed.costUsd + superseded.costUsd),
      byModel,
      byKind,
    };
  }

  /** Totals per model, kind, key or purpose, the costliest first. */
  async breakdown(tenantId: string, range: UsageRange, groupBy: UsageGroupBy): Promise<UsageBreakdownRow[]> {
    const dim = DIMENSIONS[groupBy];
    const byKey = groupBy === 'key';
    const rows = await this.query(
      `with ${CALLS_CTE}${byKey ? `, ${STARTS_CTE}` : ''}
       select ${dim.key} as key, max(${dim.label}) as label, ${TOTALS_SQL()},
         count(*) filter (where c.outcome <> 'ok') as failed_calls,
         coalesce(sum(c.cost_usd) filter (where c.outcome <> 'ok'), 0) as failed_cost_usd
       from calls c ${byKey ? 'left join starts st on st.workflow_id = c.workflow_id' : ''}
       group by 1 order by cost_usd desc, calls desc, key`,
      byKey ? [tenantId, range.from, range.to, tenantId] : [tenantId, range.from, range.to],
    );
    return rows.map((r) => ({
      key: String(r.key),
      label: String(r.label),
      ...totalsOf(r),
      failedCalls: count(r.failed_calls),
      failedCostUsd: usd(r.failed_cost_usd),
    }));
  }

  async timeseries(
    tenantId: string,
    range: UsageRange,
    bucket: UsageBucket,
    groupBy: UsageGroupBy,
  ): Promise<UsageTimeseries> {
    const dim = DIMENSIONS[groupBy];
    const byKey = groupBy === 'key';
    const unit = bucket === 'hour' ? 'hour' : 'day'; // validated; written into the SQL as a literal
    const rows = await this.query(
      `with ${CALLS_CTE}${byKey ? `, ${STARTS_CTE}` : ''}
       select ${dim.key} as key, max(${dim.label}) as label, date_trunc('${unit}', c.created_at, 'UTC') as bucket,
         ${TOTALS_SQL()}, count(*) filter (where c.outcome <> 'ok') as failed_calls
       from calls c ${byKey ? 'left join starts st on st.workflow_id = c.workflow_id' : ''}
       group by 1, 3`,
      byKey ? [tenantId, range.from, range.to, tenantId] : [tenantId, range.from, range.to],
    );
    const starts = bucketStarts(range.from, range.to, bucket);
    const index = new Map(starts.map((d, i) => [d.getTime(), i]));
    const groups = new Map<string, UsageSeries>();
    const zeros = () => new Array<number>(starts.length).fill(0);
    for (const r of rows) {
      const i = index.get(new Date(r.bucket as string | Date).getTime());
      if (i === undefined) continue; // cannot happen: every call in the range is in one of its buckets
      const key = String(r.key);
      let g = groups.get(key);
      if (!g) {
        g = {
          key,
          label: String(r.label),
          totals: { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
          inputTokens: zeros(),
          outputTokens: zeros(),
          costUsd: zeros(),
          calls: zeros(),
          failedCalls: zeros(),
        };
        groups.set(key, g);
      }
      const t = totalsOf(r);
      g.inputTokens[i] = t.inputTokens;
      g.outputTokens[i] = t.outputTokens;
      g.costUsd[i] = t.costUsd;
      g.calls[i] = t.calls;
      g.failedCalls[i] = count(r.failed_calls);
      g.totals.calls += t.calls;
      g.totals.inputTokens += t.inputTokens;
      g.totals.outputTokens += t.outputTokens;
      g.totals.costUsd = usd(g.totals.costUsd + t.costUsd);
    }
    return {
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      bucket,
      groupBy,
      buckets: starts.map((d) => d.toISOString()),
      groups: [...groups.values()].sort(
        (a, b) => b.totals.costUsd - a.totals.costUsd || b.totals.calls - a.totals.calls || a.key.localeCompare(b.key),
      ),
    };
  }

  async latency(tenantId: string, range: UsageRange): Promise<UsageLatency> {
    const [runs, models] = await Promise.all([this.runLatency(tenantId, range), this.modelLatency(tenantId, range)]);
    return { from: range.from.toISOString(), to: range.to.toISOString(), runs, llm: { models } };
  }

  private async modelLatency(tenantId: string, range: UsageRange): Promise<ModelLatency[]> {
    const rows = await this.query(
      `select c.model, c.provider, count(*) as calls,
         percentile_cont(0.5) within group (order by c.latency_ms) as p50,
         percentile_cont(0.95) within group (order by c.latency_ms) as p95
       from llm_calls c
       where c.tenant_id = ? and c.created_at >= ? and c.created_at < ? and c.outcome = 'ok'
       group by c.model, c.provider order by calls desc, c.model`,
      [tenantId, range.from, range.to],
    );
    return rows.map((r) => ({
      model: String(r.model),
      provider: String(r.provider),
      calls: count(r.calls),
      p50Ms: r.p50 === null ? null : Number(r.p50),
      p95Ms: r.p95 === null ? null : Number(r.p95),
    }));
  }

  /** Runs started in the range, read page by page from visibility (newest first), summarised per kind. */
  private async runLatency(tenantId: string, range: UsageRange): Promise<UsageLatency['runs']> {
    const read: RunSummary[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.runs.list(tenantId, {
        from: range.from,
        to: range.to,
        pageSize: 1000,
        pageToken,
      });
      read.push(...page.runs.filter((r) => new Date(r.startTime).getTime() < range.to.getTime()));
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken && read.length < MAX_RUNS_READ);
    const runs = read.slice(0, MAX_RUNS_READ);

    const byKind = new Map<string, RunSummary[]>();
    for (const r of runs) byKind.set(r.kind ?? 'other', [...(byKind.get(r.kind ?? 'other') ?? []), r]);
    const kinds: RunKindLatency[] = [...byKind.entries()].map(([kind, list]) => {
      const closed = list.filter((r) => r.durationMs !== null);
      const durations = closed.map((r) => r.durationMs!).sort((a, b) => a - b);
      const failed = closed.filter((r) => FAILED_RUN_STATUSES.has(r.status)).length;
      return {
        kind,
        count: closed.length,
        running: list.length - closed.length,
        failed,
        canceled: closed.filter((r) => r.status === 'canceled').length,
        errorRate: rate(failed, closed.length),
        p50Ms: percentileCont(durations, 0.5),
        p95Ms: percentileCont(durations, 0.95),
        maxMs: durations.at(-1) ?? null,
        histogram: histogram(durations, RUN_DURATION_BUCKETS_MS),
      };
    });
    kinds.sort((a, b) => b.count + b.running - (a.count + a.running) || a.kind.localeCompare(b.kind));
    return {
      total: runs.length,
      truncated: Boolean(pageToken) || read.length > MAX_RUNS_READ,
      maxRuns: MAX_RUNS_READ,
      bucketsMs: [...RUN_DURATION_BUCKETS_MS],
      kinds,
    };
  }
}
