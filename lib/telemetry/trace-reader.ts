import { SpanEntity, type Span as SpanRow } from '../db/entities';
import type { Orm } from '../db/orm';
import type { RunTrace, TraceSpan } from '../contracts';
import { ATTR } from './attributes';

export type { TraceSpan };

/**
 * Spans read back from the `spans` table for the runs API, always for one tenant. The caller has already proved the
 * run is the tenant's (api/runs/service.ts `describe`); these reads only ever narrow further.
 */

/** A run, by the ids its spans carry. */
export interface RunRef {
  workflowId: string;
  runId: string;
}

/** The spans of each activity attempt of a run (one per attempt), oldest first: the attempts of its steps. */
export function readActivitySpans(orm: Orm, tenantId: string, run: RunRef): Promise<SpanRow[]> {
  return orm.em.fork().find(
    SpanEntity,
    {
      workflowId: run.workflowId,
      runId: run.runId,
      name: { $like: 'RunActivity:%' },
      $or: [{ tenantId }, { tenantId: null }],
    },
    { orderBy: { startTime: 'asc' } },
  );
}

/**
 * Every span of the traces that touched this run (the HTTP request, the client call, the workflow, activities) and
 * of the requests of this tenant that called them (the MCP endpoint's loopback calls); only this tenant's spans.
 */
export async function readRunTrace(orm: Orm, tenantId: string, run: RunRef): Promise<RunTrace> {
  const { workflowId, runId } = run;
  const conn = orm.em.getConnection();
  const traceRows = (await conn.execute(
    // Reads of the run (describe, query) carry its id too but are not part of it.
    `select distinct trace_id from spans where workflow_id = ? and (run_id = ? or run_id is null) and (tenant_id = ? or tenant_id is null)
       and name not like 'DescribeWorkflow%' and name not like 'QueryWorkflow%'`,
    [workflowId, runId, tenantId],
  )) as Array<{ trace_id: string }>;
  const traceIds = traceRows.map((r) => r.trace_id);
  if (traceIds.length === 0) return { traceIds, spans: [] };
  // A request names its caller's span only as a link (api/tracing.ts); follow it when that span is this tenant's.
  for (let depth = 0; depth < 3; depth++) {
    const callers = (await conn.execute(
      `select distinct c.trace_id from spans s
         join spans c on c.trace_id = s.attributes->>'${ATTR.callerTraceId}' and c.span_id = s.attributes->>'${ATTR.callerSpanId}'
         where s.trace_id in (?) and s.tenant_id = ? and c.tenant_id = ? and c.trace_id not in (?)`,
      [traceIds, tenantId, tenantId, traceIds],
    )) as Array<{ trace_id: string }>;
    if (callers.length === 0) break;
    traceIds.push(...callers.map((r) => r.trace_id));
  }
  const all = await orm.em
    .fork()
    .find(SpanEntity, { traceId: { $in: traceIds } }, { orderBy: { startTime: 'asc', spanId: 'asc' } });
  const spans = visibleTo(tenantId, workflowId, all);
  return {
    traceIds,
    spans: spans.map((s) => ({
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId ?? null,
      name: s.name,
      kind: s.kind,
      service: s.service,
      startTime: s.startTime.toISOString(),
      endTime: s.endTime.toISOString(),
      durationMs: s.durationMs,
      statusCode: s.statusCode,
      statusMessage: s.statusMessage ?? null,
      attributes: s.attributes,
      events: s.events,
    })),
  };
}

/**
 * The spans of a trace a tenant may see. Only the API's request spans, workflow spans and LLM spans are labelled
 * with a tenant; client calls and activities inherit it from their nearest labelled ancestor. So another tenant's
 * spans stay hidden even in a trace both touched (traces joined through a caller's `traceparent` before it was only
 * linked). An unlabelled span with no labelled ancestor stored (yet) is shown only if it is of this run.
 */
function visibleTo<S extends Pick<SpanRow, 'traceId' | 'spanId' | 'parentSpanId' | 'tenantId' | 'workflowId'>>(
  tenantId: string,
  workflowId: string,
  spans: S[],
): S[] {
  const key = (traceId: string, spanId: string) => `${traceId}/${spanId}`;
  const byId = new Map(spans.map((s) => [key(s.traceId, s.spanId), s]));
  const owners = new Map<S, string | null>();
  const ownerOf = (span: S): string | null => {
    const chain = new Set<S>();
    let owner: string | null = null;
    for (
      let s: S | undefined = span;
      s && !chain.has(s);
      s = s.parentSpanId ? byId.get(key(s.traceId, s.parentSpanId)) : undefined
    ) {
      const known = owners.get(s);
      if (known !== undefined) {
        owner = known;
        break;
      }
      chain.add(s);
      if (s.tenantId) {
        owner = s.tenantId;
        break;
      }
    }
    for (const s of chain) owners.set(s, owner);
    return owner;
  };
  return spans.filter((s) => {
    const owner = ownerOf(s);
    return owner === tenantId || (owner === null && s.workflowId === workflowId);
  });
}
