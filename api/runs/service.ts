import { createHash, timingSafeEqual } from 'node:crypto';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { arrayFromPayloads } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import {
  RUN_STATUSES,
  RUN_WHAT_MEMO,
  SEARCH_ATTRIBUTES,
  type RunKind,
  type RunStatus,
  type Step,
  type StepAttempt,
} from '../../lib/contracts';
import type { Orm } from '../../lib/db/orm';
import { badRequest, notFound } from '../../lib/errors';
import { ATTR } from '../../lib/telemetry/attributes';
import { readActivitySpans, readRunTrace } from '../../lib/telemetry/trace-reader';
import { stepsFromHistory, type HistoryStep } from './history';

/** Status names in visibility queries. */
const queryStatus: Record<RunStatus, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  terminated: 'Terminated',
  continued_as_new: 'ContinuedAsNew',
  timed_out: 'TimedOut',
};

const statusOf = (name: string): RunStatus | 'unknown' => {
  const s = name.toLowerCase().replace('cancelled', 'canceled');
  return (RUN_STATUSES as readonly string[]).includes(s) ? (s as RunStatus) : 'unknown';
};

export interface RunSummary {
  workflowId: string;
  runId: string;
  type: string;
  kind: string | null;
  status: RunStatus | 'unknown';
  startTime: string;
  closeTime: string | null;
  durationMs: number | null;
  taskQueue: string;
  /** The run's one-line description (memo `what`, set at start); null for runs started before it existed. */
  what: string | null;
  /** The workflow that started this one as a child, if any. */
  parentWorkflowId: string | null;
  /** Model tokens and cost of this run's calls (and of its per-document children, `<id>/<documentId>`). */
  tokens: RunTokens;
  costUsd: number;
}

export interface RunTokens {
  input: number;
  output: number;
}

type RunInfo = Omit<WorkflowExecutionInfo, 'raw'>;

function summarize(info: RunInfo, usage?: RunUsage): RunSummary {
  const what = info.memo?.[RUN_WHAT_MEMO];
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    type: info.type,
    kind: info.typedSearchAttributes.get(SEARCH_ATTRIBUTES.RunKind) ?? null,
    status: statusOf(info.status.name),
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString() ?? null,
    durationMs: info.closeTime ? info.closeTime.getTime() - info.startTime.getTime() : null,
    taskQueue: info.taskQueue,
    what: typeof what === 'string' ? what : null,
    parentWorkflowId: info.parentExecution?.workflowId ?? null,
    tokens: { input: usage?.input ?? 0, output: usage?.output ?? 0 },
    costUsd: usage?.costUsd ?? 0,
  };
}

interface RunUsage {
  input: number;
  output: number;
  costUsd: number;
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const roundUsd = (v: number) => Math.round(v * 1e8) / 1e8;

/** Values go into a visibility query only after validation; quotes are refused there, this is a second guard. */
const quote = (v: string) => `'${v.replace(/['\\]/g, '')}'`;

const PAGE_TOKEN_CHECK_BYTES = 8;
const pageTokenCheck = (tenantId: string, bytes: Uint8Array) =>
  createHash('sha256').update(`runs-page:${tenantId}:`).update(bytes).digest().subarray(0, PAGE_TOKEN_CHECK_BYTES);
const invalidPageToken = () =>
  badRequest('invalid_page_token', 'pageToken is not a page token this list handed out; list again without it.');

/**
 * Temporal's page token with a check appended: a token this API did not hand out (to this tenant) is refused at once.
 * Given to Temporal, garbage fails as UNKNOWN, which the client retries for many seconds.
 */
export function encodePageToken(tenantId: string, bytes: Uint8Array): string {
  return Buffer.concat([bytes, pageTokenCheck(tenantId, bytes)]).toString('base64url');
}

export function decodePageToken(tenantId: string, token: string): Buffer {
  const raw = Buffer.from(token, 'base64url');
  const bytes = raw.subarray(0, -PAGE_TOKEN_CHECK_BYTES);
  if (
    raw.length <= PAGE_TOKEN_CHECK_BYTES ||
    !timingSafeEqual(raw.subarray(-PAGE_TOKEN_CHECK_BYTES), pageTokenCheck(tenantId, bytes))
  )
    throw invalidPageToken();
  return bytes;
}

export interface ListFilter {
  kind?: RunKind;
  status?: RunStatus;
  from?: Date;
  to?: Date;
  idPrefix?: string;
  /** The Temporal schedule that started the runs (`ScheduleId`). */
  scheduleId?: string;
  pageSize: number;
  pageToken?: string;
}

/** Reads runs through Temporal, always scoped to one tenant by the TenantId search attribute. */
export class RunsService {
  constructor(
    private readonly client: Client,
    private readonly orm: Orm,
    private readonly namespace: string,
  ) {}

  async list(tenantId: string, f: ListFilter): Promise<{ runs: RunSummary[]; nextPageToken: string | null }> {
    const clauses = [`TenantId = ${quote(tenantId)}`];
    if (f.kind) clauses.push(`RunKind = ${quote(f.kind)}`);
    if (f.status) clauses.push(`ExecutionStatus = ${quote(queryStatus[f.status])}`);
    if (f.from) clauses.push(`StartTime >= ${quote(f.from.toISOString())}`);
    if (f.to) clauses.push(`StartTime <= ${quote(f.to.toISOString())}`);
    if (f.idPrefix) clauses.push(`WorkflowId STARTS_WITH ${quote(f.idPrefix)}`);
    if (f.scheduleId) clauses.push(`ScheduleId = ${quote(f.scheduleId)}`);
    const response = await this.client.workflowService
      .listWorkflowExecutions({
        namespace: this.namespace,
        query: clauses.join(' AND '),
        pageSize: f.pageSize,
        nextPageToken: f.pageToken ? decodePageToken(tenantId, f.pageToken) : undefined,
      })
      .catch((e: unknown) => {
        // A token that passed the check but that Temporal cannot read (INVALID_ARGUMENT, or UNKNOWN from SQL visibility).
        if (f.pageToken && [2, 3].includes((e as { code?: number }).code ?? 0)) throw invalidPageToken();
        throw e;
      });
    const runs = await this.summaries(tenantId, response.executions ?? []);
    const token = response.nextPageToken?.length ? encodePageToken(tenantId, response.nextPageToken) : null;
    return { runs, nextPageToken: token };
  }

  /** Visibility rows as summaries, with the page's tokens and cost from one query and collection names in `what`. */
  private async summaries(
    tenantId: string,
    executions: Parameters<typeof executionInfoFromRaw>[0][],
  ): Promise<RunSummary[]> {
    return (await this.summariesWithInfo(tenantId, executions)).runs;
  }

  private async summariesWithInfo(
    tenantId: string,
    executions: Parameters<typeof executionInfoFromRaw>[0][],
  ): Promise<{ runs: RunSummary[]; infos: RunInfo[] }> {
    const infos = await Promise.all(
      executions.map((raw) => executionInfoFromRaw(raw, this.client.options.loadedDataConverter, raw, this.namespace)),
    );
    const usage = await this.usageOf(
      tenantId,
      infos.map((i) => i.workflowId),
    );
    const runs = infos.map((info) => summarize(info, usage.get(info.workflowId)));
    await this.nameCollections(tenantId, runs, infos);
    return { runs, infos };
  }

  /**
   * Tokens and cost per workflow id from the `llm_calls` rows, one query for any number of runs, scoped to the
   * tenant. A run's calls include its per-document children's (`<id>/<documentId>`, the ingest's children).
   */
  private async usageOf(tenantId: string, workflowIds: string[]): Promise<Map<string, RunUsage>> {
    const out = new Map<string, RunUsage>();
    if (!workflowIds.length) return out;
    const rows = (await this.orm.em.getConnection().execute(
      `select k.id as workflow_id,
              coalesce(sum(c.input_tokens), 0) as input_tokens,
              coalesce(sum(c.output_tokens), 0) as output_tokens,
              coalesce(sum(c.cost_usd), 0) as cost_usd
       from unnest(array[?]::text[]) as k(id)
       join llm_calls c on c.tenant_id = ?
         and (c.workflow_id = k.id or starts_with(c.workflow_id, k.id || '/'))
       group by k.id`,
      [[...new Set(workflowIds)], tenantId],
    )) as Array<Record<string, unknown>>;
    for (const r of rows) {
      out.set(String(r.workflow_id), {
        input: num(r.input_tokens),
        output: num(r.output_tokens),
        costUsd: roundUsd(num(r.cost_usd)),
      });
    }
    return out;
  }

  /** An ingest's `what` names its collection by id when it starts; the list shows the collection's current name. */
  private async nameCollections(tenantId: string, runs: RunSummary[], infos: RunInfo[]) {
    const ids = new Set<string>();
    infos.forEach((info, i) => {
      const id = info.typedSearchAttributes.get(SEARCH_ATTRIBUTES.CollectionId);
      if (id && runs[i]!.kind === 'ingest' && runs[i]!.what?.endsWith(`→ ${id}`)) ids.add(id);
    });
    if (!ids.size) return;
    const rows = (await this.orm.em
      .getConnection()
      .execute(
        `select id::text as id, name from collections where tenant_id = ? and id::text = any(array[?]::text[])`,
        [tenantId, [...ids]],
      )) as Array<{ id: string; name: string }>;
    const names = new Map(rows.map((r) => [r.id, r.name]));
    infos.forEach((info, i) => {
      const id = info.typedSearchAttributes.get(SEARCH_ATTRIBUTES.CollectionId);
      const name = id && names.get(id);
      const run = runs[i]!;
      if (name && run.what?.endsWith(`→ ${id}`)) run.what = `${run.what.slice(0, -id!.length)}${name}`.slice(0, 200);
    });
  }

  /**
   * The runs a run started as children (visibility `ParentWorkflowId`), after the parent is found to be the
   * tenant's. An ingest's children (a batch of documents each, or one document in runs started before batches) carry
   * no search attributes of their own, so the parent's tenant is what scopes them; each names its documents, with
   * their status and chunk count.
   */
  async children(
    tenantId: string,
    workflowId: string,
    page: { pageSize: number; pageToken?: string },
  ): Promise<{ runs: Array<RunSummary & RunDocuments>; nextPageToken: string | null }> {
    const { description } = await this.describe(tenantId, workflowId);
    const response = await this.client.workflowService
      .listWorkflowExecutions({
        namespace: this.namespace,
        query: `ParentWorkflowId = ${quote(description.workflowId)}`,
        pageSize: page.pageSize,
        nextPageToken: page.pageToken ? decodePageToken(tenantId, page.pageToken) : undefined,
      })
      .catch((e: unknown) => {
        if (page.pageToken && [2, 3].includes((e as { code?: number }).code ?? 0)) throw invalidPageToken();
        throw e;
      });
    const summaries = await this.summariesWithInfo(tenantId, response.executions ?? []);
    const runs: Array<RunSummary & RunDocuments> = summaries.runs;
    // A batch child lists its documents in its memo; a per-document child is named `<parent>/<documentId>`.
    const batchOf = (i: number) => {
      const ids = summaries.infos[i]!.memo?.documentIds;
      return Array.isArray(ids) ? ids.filter(isString) : null;
    };
    const docIds = runs.flatMap((r, i) => batchOf(i) ?? [documentIdOfChild(workflowId, r.workflowId) ?? '']);
    if (docIds.some(Boolean)) {
      const docs = await this.documents(tenantId, docIds.filter(Boolean));
      runs.forEach((run, i) => {
        const batch = batchOf(i);
        if (batch) {
          run.documents = batch.map((id) => docs.get(id)).filter((d): d is RunDocument => !!d);
          return;
        }
        const doc = docs.get(documentIdOfChild(workflowId, run.workflowId) ?? '');
        if (doc) {
          run.document = doc;
          // The workflow knows only the document's id; its name is the database's.
          run.what = doc.name;
        }
      });
    }
    const token = response.nextPageToken?.length ? encodePageToken(tenantId, response.nextPageToken) : null;
    return { runs, nextPageToken: token };
  }

  private async documents(tenantId: string, ids: string[]): Promise<Map<string, RunDocument>> {
    const uuids = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
    if (!uuids.length) return new Map();
    const rows = (await this.orm.em.getConnection().execute(
      `select id::text as id, collection_id::text as collection_id, coalesce(nullif(title, ''), source) as name,
              status, chunk_count, error
       from documents where tenant_id = ? and id::text = any(array[?]::text[])`,
      [tenantId, uuids],
    )) as Array<Record<string, unknown>>;
    return new Map(
      rows.map((r) => [
        String(r.id),
        {
          id: String(r.id),
          collectionId: String(r.collection_id),
          name: String(r.name),
          status: String(r.status),
          chunkCount: num(r.chunk_count),
          error: r.error ? String(r.error) : null,
        },
      ]),
    );
  }

  /** The run if it belongs to the tenant; another tenant's run is "not found", exactly like a missing one. */
  async describe(tenantId: string, workflowId: string, runId?: string, depth = 0) {
    try {
      const handle = this.client.workflow.getHandle(workflowId, runId);
      const description = await handle.describe();
      const owner = description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.TenantId);
      // A child started without search attributes (an ingest's per-document runs) belongs to its parent's tenant.
      const parent = description.parentExecution?.workflowId;
      if (owner === undefined && parent && depth < 2) await this.describe(tenantId, parent, undefined, depth + 1);
      else if (owner !== tenantId) throw notFound('Run');
      return { handle, description };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw notFound('Run');
      if ((e as { code?: number }).code === 3) throw notFound('Run'); // INVALID_ARGUMENT: a malformed run id
      throw e;
    }
  }

  async get(tenantId: string, workflowId: string, runId?: string) {
    const { description } = await this.describe(tenantId, workflowId, runId);
    const history = await this.client.workflow.getHandle(workflowId, description.runId).fetchHistory();
    const events = history.events ?? [];
    const converter = this.client.options.loadedDataConverter.payloadConverter;
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    const last = events.at(-1);
    const input = arrayFromPayloads(converter, started?.input?.payloads);
    const [usage, childIds] = await Promise.all([
      this.usageOf(tenantId, [workflowId]),
      this.childIds(description.workflowId),
    ]);
    const summary = summarize(description, usage.get(workflowId));
    await this.nameCollections(tenantId, [summary], [description]);
    const withChildren = await this.usageOf(tenantId, childIds);
    const total = [...withChildren.values()].reduce(
      (t, u) => ({ input: t.input + u.input, output: t.output + u.output, costUsd: t.costUsd + u.costUsd }),
      { input: summary.tokens.input, output: summary.tokens.output, costUsd: summary.costUsd },
    );
    const body: Record<string, unknown> = {
      ...summary,
      childRuns: childIds.length,
      withChildren: { tokens: { input: total.input, output: total.output }, costUsd: roundUsd(total.costUsd) },
      links: await this.links(tenantId, description, input[0]),
      historyLength: description.historyLength,
      input,
      pendingActivities: (description.raw.pendingActivities ?? []).map((p) => ({
        activityId: p.activityId,
        activityType: p.activityType?.name,
        state:
          ['unspecified', 'scheduled', 'started', 'cancel_requested', 'paused', 'pause_requested'][p.state ?? 0] ??
          'unknown',
        attempt: p.attempt,
        lastFailure: p.lastFailure?.message ?? undefined,
        scheduledTime: iso(optionalTsToMs(p.scheduledTime)),
        lastStartedTime: iso(optionalTsToMs(p.lastStartedTime)),
        lastHeartbeatTime: iso(optionalTsToMs(p.lastHeartbeatTime)),
      })),
    };
    const completed = last?.workflowExecutionCompletedEventAttributes;
    if (completed) body.result = arrayFromPayloads(converter, completed.result?.payloads)[0] ?? null;
    const failed = last?.workflowExecutionFailedEventAttributes?.failure;
    if (failed) {
      body.failure = { message: failed.message ?? 'failed', type: failed.applicationFailureInfo?.type ?? undefined };
    }
    if (last?.workflowExecutionTimedOutEventAttributes)
      body.failure = { message: 'The run timed out.', type: 'timeout' };
    if (last?.workflowExecutionTerminatedEventAttributes) {
      body.failure = {
        message: `Terminated: ${last.workflowExecutionTerminatedEventAttributes.reason || 'no reason given'}`,
        type: 'terminated',
      };
    }
    return body;
  }

  /** Ids of a run's children (first 1,000), to add their calls to the run's total. */
  private async childIds(workflowId: string): Promise<string[]> {
    const response = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.namespace,
      query: `ParentWorkflowId = ${quote(workflowId)}`,
      pageSize: 1000,
    });
    // Per-document children are already counted in the parent's own calls (`<id>/<documentId>`).
    return (response.executions ?? [])
      .map((e) => e.execution?.workflowId ?? '')
      .filter((id) => id && !id.startsWith(`${workflowId}/`));
  }

  /** What a run is connected to: its answer, agent run, collection and documents, its parent run. */
  private async links(tenantId: string, info: RunInfo, input: unknown): Promise<RunLinks> {
    const kind = info.typedSearchAttributes.get(SEARCH_ATTRIBUTES.RunKind);
    const args = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
    const links: RunLinks = { parentWorkflowId: info.parentExecution?.workflowId ?? null };
    const collectionId =
      info.typedSearchAttributes.get(SEARCH_ATTRIBUTES.CollectionId) ??
      (typeof args.collectionId === 'string' ? args.collectionId : undefined);
    if (collectionId) links.collectionId = collectionId;
    const collectionIds = Array.isArray(args.collectionIds) ? args.collectionIds.filter(isString) : [];
    if (collectionIds.length) links.collectionIds = collectionIds;
    if (typeof args.documentId === 'string') links.documentId = args.documentId;
    if (Array.isArray(args.documentIds)) links.documentIds = args.documentIds.filter(isString).slice(0, 100);
    if (kind === 'agent' || info.type === 'agent') links.agentRunId = info.workflowId;
    if (kind === 'answer' || info.type === 'answer') {
      const [row] = (await this.orm.em
        .getConnection()
        .execute(`select id::text as id from answers where tenant_id = ? and workflow_id = ? limit 1`, [
          tenantId,
          info.workflowId,
        ])) as Array<{ id: string }>;
      if (row) links.answerId = row.id;
    }
    return links;
  }

  async steps(tenantId: string, workflowId: string, runId?: string): Promise<{ steps: Step[] }> {
    const { description } = await this.describe(tenantId, workflowId, runId);
    const history = await this.client.workflow.getHandle(workflowId, description.runId).fetchHistory();
    const steps = stepsFromHistory(history.events ?? []);
    const pending = new Map((description.raw.pendingActivities ?? []).map((p) => [p.activityId, p]));
    const spans = await readActivitySpans(this.orm, tenantId, { workflowId, runId: description.runId });
    return {
      steps: steps.map((step) => {
        const p = pending.get(step.activityId);
        if (p) {
          step.attempts = p.attempt ?? step.attempts;
          if (p.lastFailure?.message) step.lastFailure = p.lastFailure.message;
        }
        return {
          ...step,
          attemptsDetail: attemptsFromSpans(
            step,
            spans.filter((s) => s.attributes[ATTR.activityId] === step.activityId),
          ),
        };
      }),
    };
  }

  /** The spans of the traces that touched this run, only this tenant's (lib/telemetry/trace-reader.ts). */
  async trace(tenantId: string, workflowId: string, runId?: string) {
    const { description } = await this.describe(tenantId, workflowId, runId);
    return readRunTrace(this.orm, tenantId, { workflowId, runId: description.runId });
  }

  async cancel(tenantId: string, workflowId: string) {
    const { handle } = await this.describe(tenantId, workflowId);
    await handle.cancel();
  }
}

export interface RunLinks {
  parentWorkflowId: string | null;
  answerId?: string;
  agentRunId?: string;
  collectionId?: string;
  collectionIds?: string[];
  documentId?: string;
  documentIds?: string[];
}

/** An ingest child's documents: a batch's (`documents`, in order), or the one of a run from before batches. */
export interface RunDocuments {
  document?: RunDocument;
  documents?: RunDocument[];
}

/** A document an ingest child run processes (GET /v1/runs/:id/children of an ingest). */
export interface RunDocument {
  id: string;
  collectionId: string;
  name: string;
  status: string;
  chunkCount: number;
  error: string | null;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** The document id of an ingest's per-document child (`<parent>/<documentId>`), else null. */
const documentIdOfChild = (parent: string, child: string) =>
  child.startsWith(`${parent}/`) ? child.slice(parent.length + 1) : null;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function attemptsFromSpans(
  step: HistoryStep,
  spans: Array<{
    startTime: Date;
    endTime: Date;
    durationMs: number;
    statusCode: number;
    statusMessage?: string | null;
  }>,
): StepAttempt[] {
  // The last finished span is the final attempt of a closed step; an open step's current attempt has no span yet.
  const finalAttempt = step.closeTime ? step.attempts : step.attempts - 1;
  return spans.map((s, i) => ({
    attempt: Math.max(1, finalAttempt - (spans.length - 1 - i)),
    startTime: s.startTime.toISOString(),
    endTime: s.endTime.toISOString(),
    durationMs: s.durationMs,
    status: s.statusCode === 2 ? ('error' as const) : ('ok' as const),
    ...(s.statusCode === 2 ? { error: s.statusMessage ?? 'failed' } : {}),
  }));
}
