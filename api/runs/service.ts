import { createHash, timingSafeEqual } from 'node:crypto';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { arrayFromPayloads } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import {
  RUN_STATUSES,
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
}

function summarize(info: Omit<WorkflowExecutionInfo, 'raw'>): RunSummary {
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
  };
}

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
    const runs = await Promise.all(
      (response.executions ?? []).map(async (raw) =>
        summarize(await executionInfoFromRaw(raw, this.client.options.loadedDataConverter, raw, this.namespace)),
      ),
    );
    const token = response.nextPageToken?.length ? encodePageToken(tenantId, response.nextPageToken) : null;
    return { runs, nextPageToken: token };
  }

  /** The run if it belongs to the tenant; another tenant's run is "not found", exactly like a missing one. */
  async describe(tenantId: string, workflowId: string, runId?: string) {
    try {
      const handle = this.client.workflow.getHandle(workflowId, runId);
      const description = await handle.describe();
      if (description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.TenantId) !== tenantId) throw notFound('Run');
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
    const body: Record<string, unknown> = {
      ...summarize(description),
      historyLength: description.historyLength,
      input: arrayFromPayloads(converter, started?.input?.payloads),
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
