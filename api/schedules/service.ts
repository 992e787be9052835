import { randomUUID } from 'node:crypto';
import {
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleOverlapPolicy,
  type Workflow,
} from '@temporalio/client';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { CronExpressionParser } from 'cron-parser';
import {
  RUN_WHAT_MEMO,
  SEARCH_ATTRIBUTES,
  clipWhat,
  runSearchAttributes,
  taskQueues,
  workflowIds,
  type RetentionInput,
  type RunStatus,
  type SyncSourceInput,
  type EvalRunInput,
} from '../../lib/contracts';
import { ScheduleEntity, type ScheduleRow } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, forbidden, notFound } from '../../lib/errors';
import type { Principal } from '../auth/api-keys';
import { actorLabel } from '../auth/api-keys';
import { RunsService } from '../runs/service';
import type { EvalsService } from '../evals/service';
import { datasetVersion } from '../../lib/evals/datasets-store';
import {
  durationMs,
  durationText,
  specPreview,
  type CreateSchedule,
  type OverlapPolicy,
  type ScheduleJob,
  type SchedulePolicyInput,
  type ScheduleSpecInput,
  type UpdateSchedule,
} from './spec';

/** A schedule as the API returns it: the row's words, and what Temporal says of its state and runs. */
export interface ScheduleView {
  id: string;
  temporalScheduleId: string;
  name: string;
  description: string;
  job: ScheduleJob;
  spec: ScheduleSpecInput;
  policy: SchedulePolicyInput;
  state: { paused: boolean; note: string | null };
  /** The spec in words. */
  preview: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  /** Up to 5 upcoming times (none while paused). */
  nextRuns: string[];
  /** The runs it started, newest first (up to 10), with their status where visibility has it yet. */
  recentRuns: Array<{ workflowId: string; scheduledAt: string; startedAt: string; status: RunStatus | null }>;
  /** Runs of it still going. */
  running: string[];
  counts: { taken: number; skippedOverlap: number; missedCatchup: number };
}

const OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  buffer_all: 'BUFFER_ALL',
  cancel_other: 'CANCEL_OTHER',
  terminate_other: 'TERMINATE_OTHER',
  allow_all: 'ALLOW_ALL',
};
const OVERLAP_NAME = Object.fromEntries(Object.entries(OVERLAP).map(([k, v]) => [v, k])) as Record<
  string,
  OverlapPolicy
>;

const JOB_WORKFLOW: Record<ScheduleJob['type'], string> = {
  retention: 'retention',
  syncSource: 'syncSource',
  evalRun: 'evalRun',
};

/** The most runs one backfill may start. */
export const MAX_BACKFILL_RUNS = 1_000;

/**
 * How many runs the spec has in [start, end], counted up to `cap + 1`: each interval's times (from the Unix epoch
 * plus its offset, as Temporal aligns them) and each cron expression's in the schedule's time zone (cron-parser).
 */
export function runsInRange(spec: ScheduleSpecInput, start: number, end: number, cap: number): number {
  let n = 0;
  for (const i of spec.intervals) {
    const every = durationMs(i.every);
    const offset = i.offset ? durationMs(i.offset) % every : 0;
    const first = Math.ceil((start - offset) / every);
    const last = Math.floor((end - offset) / every);
    n += Math.max(0, last - first + 1);
    if (n > cap) return n;
  }
  for (const expression of spec.cron) {
    const times = CronExpressionParser.parse(expression, {
      currentDate: new Date(start - 1),
      endDate: new Date(end),
      tz: spec.timezone,
    });
    while (times.hasNext() && n <= cap) {
      times.next();
      n++;
    }
  }
  return n;
}

/** A gRPC failure of Temporal for something the caller sent (INVALID_ARGUMENT, FAILED_PRECONDITION) → 400. */
function clientFault(e: unknown): AppError | null {
  const code = (e as { code?: number } | null)?.code;
  if (code === 3 || code === 9) {
    const details = (e as { details?: string }).details ?? (e as Error).message;
    return badRequest('invalid_schedule', `Temporal refused the schedule: ${details}`);
  }
  return null;
}

/**
 * The tenant's schedules: each a row here (its name, the job and spec as the caller gave them) and a Temporal
 * Schedule `schedule:<tenant>:<id>` that does the scheduling — overlap, catch-up, pause, backfill and the history
 * are Temporal's, and `temporal schedule list/describe` shows the same schedules. Every run a schedule starts has
 * kind `batch`, the tenant's `TenantId`, and `ScheduleId` (the Temporal schedule id).
 *
 * Scheduled runs are started by Temporal, not through the API, so a tenant's run-start quotas do not count them;
 * schedules themselves are writes of operators and admins (a retention job: admins only).
 */
export class SchedulesService {
  private readonly runs: RunsService;

  constructor(
    private readonly temporal: Client,
    private readonly orm: Orm,
    private readonly o: { namespace: string; taskQueuePrefix: string },
    /** Checks an eval job's dataset, collections, models and prompts (api/evals). */
    private readonly evals: Pick<EvalsService, 'checkConfig'>,
  ) {
    this.runs = new RunsService(temporal, orm, o.namespace);
  }

  private async row(tenantId: string, id: string): Promise<ScheduleRow> {
    const row = await this.orm.em.fork().findOne(ScheduleEntity, { id, tenantId });
    if (!row) throw notFound('Schedule');
    return row;
  }

  private handle(row: Pick<ScheduleRow, 'tenantId' | 'id'>) {
    return this.temporal.schedule.getHandle(workflowIds.schedule(row.tenantId, row.id));
  }

  private static guardJob(principal: Principal, job: ScheduleJob | Record<string, unknown>): void {
    if (job.type === 'retention' && principal.role !== 'admin') {
      throw forbidden('A retention schedule deletes data: only admins create or change one.');
    }
  }

  /** The source of a sync job must be one of the tenant's, in the named collection. */
  private async checkJob(tenantId: string, job: ScheduleJob): Promise<void> {
    if (job.type === 'evalRun') {
      const version = await datasetVersion(this.orm.em.fork(), tenantId, job.datasetId, job.datasetVersion);
      if (!version) throw badRequest('unknown_dataset', 'job: no such dataset (or version of it).');
      await this.evals.checkConfig(tenantId, job.config);
      return;
    }
    if (job.type !== 'syncSource') return;
    const rows = await this.orm.em
      .getConnection()
      .execute<Array<{ ok: number }>>(
        `select 1 as ok from sources where id = ? and tenant_id = ? and collection_id = ?`,
        [job.sourceId, tenantId, job.collectionId],
      );
    if (rows.length === 0) throw badRequest('unknown_source', 'job: no such source in that collection.');
  }

  private action(
    row: Pick<ScheduleRow, 'tenantId' | 'id' | 'name'>,
    job: ScheduleJob,
    actor: string,
  ): ScheduleOptionsStartWorkflowAction<Workflow> {
    const scheduleId = workflowIds.schedule(row.tenantId, row.id);
    const common = { tenantId: row.tenantId, scheduleId, actor, name: row.name };
    const input: RetentionInput | SyncSourceInput | EvalRunInput =
      job.type === 'retention'
        ? { ...common, ...(job.ages ? { ages: job.ages } : {}) }
        : job.type === 'syncSource'
          ? { ...common, collectionId: job.collectionId, sourceId: job.sourceId }
          : {
              ...common,
              dataset: { datasetId: job.datasetId, ...(job.datasetVersion ? { version: job.datasetVersion } : {}) },
              config: job.config,
              ...(job.concurrency ? { concurrency: job.concurrency } : {}),
            };
    return {
      type: 'startWorkflow',
      workflowType: JOB_WORKFLOW[job.type],
      args: [input],
      taskQueue: taskQueues(this.o.taskQueuePrefix).main,
      // Temporal appends the scheduled time: batch:<tenant>:schedule-<id>-2026-12-03T04:00:00Z.
      workflowId: workflowIds.batch(row.tenantId, `schedule-${row.id}`),
      memo: { [RUN_WHAT_MEMO]: clipWhat(row.name) },
      typedSearchAttributes: runSearchAttributes({
        tenantId: row.tenantId,
        kind: 'batch',
        scheduleId,
        collectionId:
          job.type === 'syncSource'
            ? job.collectionId
            : job.type === 'evalRun'
              ? job.config.collectionIds[0]
              : undefined,
      }),
    };
  }

  private static spec(spec: ScheduleSpecInput): ScheduleOptions['spec'] {
    return {
      cronExpressions: spec.cron,
      intervals: spec.intervals.map((i) => ({
        every: durationMs(i.every),
        ...(i.offset ? { offset: durationMs(i.offset) } : {}),
      })),
      timezone: spec.timezone,
      ...(spec.jitter ? { jitter: durationMs(spec.jitter) } : {}),
      ...(spec.startAt ? { startAt: new Date(spec.startAt) } : {}),
      ...(spec.endAt ? { endAt: new Date(spec.endAt) } : {}),
    };
  }

  private static policies(p: SchedulePolicyInput): NonNullable<ScheduleOptions['policies']> {
    return {
      overlap: OVERLAP[p.overlap],
      catchupWindow: durationMs(p.catchupWindow),
      pauseOnFailure: p.pauseOnFailure,
    };
  }

  async create(principal: Principal, body: CreateSchedule): Promise<ScheduleView> {
    SchedulesService.guardJob(principal, body.job);
    const tenantId = principal.tenantId;
    await this.checkJob(tenantId, body.job);
    const actor = actorLabel(principal);
    const em = this.orm.em.fork();
    const row = em.create(ScheduleEntity, {
      id: randomUUID(),
      tenantId,
      name: body.name,
      description: body.description,
      job: body.job,
      spec: body.spec,
      createdBy: actor,
      updatedBy: actor,
    });
    try {
      await em.flush();
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) {
        throw new AppError({
          code: 'schedule_exists',
          message: `A schedule named "${body.name}" exists already.`,
          status: 409,
          category: 'conflict',
        });
      }
      throw e;
    }
    try {
      await this.temporal.schedule.create({
        scheduleId: workflowIds.schedule(tenantId, row.id),
        spec: SchedulesService.spec(body.spec),
        action: this.action(row, body.job, actor),
        policies: SchedulesService.policies(body.policy),
        state: { paused: body.paused, ...(body.note ? { note: body.note } : {}) },
        memo: { tenantId, createdBy: actor },
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.TenantId, value: tenantId }],
      });
    } catch (e) {
      await this.orm.em.fork().nativeDelete(ScheduleEntity, { id: row.id, tenantId });
      throw clientFault(e) ?? e;
    }
    return this.view(row);
  }

  async update(principal: Principal, id: string, patch: UpdateSchedule): Promise<ScheduleView> {
    const tenantId = principal.tenantId;
    const row = await this.row(tenantId, id);
    SchedulesService.guardJob(principal, row.job);
    if (patch.job) {
      SchedulesService.guardJob(principal, patch.job);
      await this.checkJob(tenantId, patch.job);
    }
    const actor = actorLabel(principal);
    const next = {
      ...row,
      name: patch.name ?? row.name,
      description: patch.description ?? row.description,
      job: (patch.job ?? row.job) as ScheduleJob,
      spec: (patch.spec ?? row.spec) as ScheduleSpecInput,
    };
    if (next.name !== row.name) {
      const clash = await this.orm.em.fork().findOne(ScheduleEntity, { tenantId, name: next.name, id: { $ne: id } });
      if (clash) {
        throw new AppError({
          code: 'schedule_exists',
          message: `A schedule named "${next.name}" exists already.`,
          status: 409,
          category: 'conflict',
        });
      }
    }
    try {
      await this.handle(row).update((prev) => {
        const policy: SchedulePolicyInput = {
          ...SchedulesService.policyOf(prev),
          ...Object.fromEntries(Object.entries(patch.policy ?? {}).filter(([, v]) => v !== undefined)),
        };
        return {
          spec: SchedulesService.spec(next.spec),
          action: this.action(next, next.job, actor),
          policies: SchedulesService.policies(policy),
          state: prev.state,
        };
      });
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw notFound('Schedule');
      throw clientFault(e) ?? e;
    }
    await this.orm.em
      .fork()
      .nativeUpdate(
        ScheduleEntity,
        { id, tenantId },
        { name: next.name, description: next.description, job: next.job, spec: next.spec, updatedBy: actor },
      );
    return this.get(tenantId, id);
  }

  async remove(principal: Principal, id: string): Promise<void> {
    const row = await this.row(principal.tenantId, id);
    SchedulesService.guardJob(principal, row.job);
    await this.handle(row)
      .delete()
      .catch((e: unknown) => {
        if (!(e instanceof ScheduleNotFoundError)) throw e;
      });
    await this.orm.em.fork().nativeDelete(ScheduleEntity, { id, tenantId: principal.tenantId });
  }

  async pause(principal: Principal, id: string, note: string | undefined, paused: boolean): Promise<ScheduleView> {
    const row = await this.row(principal.tenantId, id);
    const text = note?.trim() || `${paused ? 'Paused' : 'Unpaused'} by ${actorLabel(principal)}`;
    await this.temporalCall(() => (paused ? this.handle(row).pause(text) : this.handle(row).unpause(text)));
    return this.view(row);
  }

  async trigger(principal: Principal, id: string, overlap?: OverlapPolicy): Promise<ScheduleView> {
    const row = await this.row(principal.tenantId, id);
    SchedulesService.guardJob(principal, row.job);
    await this.temporalCall(() => this.handle(row).trigger(overlap ? OVERLAP[overlap] : undefined));
    return this.view(row);
  }

  async backfill(
    principal: Principal,
    id: string,
    b: { start: string; end: string; overlap?: OverlapPolicy },
  ): Promise<ScheduleView> {
    const row = await this.row(principal.tenantId, id);
    SchedulesService.guardJob(principal, row.job);
    const runs = runsInRange(row.spec as ScheduleSpecInput, Date.parse(b.start), Date.parse(b.end), MAX_BACKFILL_RUNS);
    if (runs > MAX_BACKFILL_RUNS) {
      throw badRequest(
        'backfill_too_large',
        `That range has more than ${MAX_BACKFILL_RUNS} scheduled times; a backfill starts at most ${MAX_BACKFILL_RUNS} runs. Split it into smaller ranges.`,
      );
    }
    await this.temporalCall(() =>
      this.handle(row).backfill({
        start: new Date(b.start),
        end: new Date(b.end),
        ...(b.overlap ? { overlap: OVERLAP[b.overlap] } : {}),
      }),
    );
    return this.view(row);
  }

  private async temporalCall(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw notFound('Schedule');
      throw clientFault(e) ?? e;
    }
  }

  async get(tenantId: string, id: string): Promise<ScheduleView> {
    return this.view(await this.row(tenantId, id));
  }

  async list(tenantId: string): Promise<ScheduleView[]> {
    const rows = await this.orm.em.fork().find(ScheduleEntity, { tenantId }, { orderBy: { name: 'asc' }, limit: 500 });
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** The runs a schedule started (kind `batch`, `ScheduleId`), newest first, a page at a time. */
  async runsOf(tenantId: string, id: string, page: { pageSize: number; pageToken?: string }) {
    const row = await this.row(tenantId, id);
    return this.runs.list(tenantId, { ...page, scheduleId: workflowIds.schedule(row.tenantId, row.id) });
  }

  private static policyOf(d: ScheduleDescription): SchedulePolicyInput {
    return {
      overlap: OVERLAP_NAME[d.policies.overlap ?? 'SKIP'] ?? 'skip',
      catchupWindow: durationText(d.policies.catchupWindow),
      pauseOnFailure: d.policies.pauseOnFailure,
    };
  }

  private async view(row: ScheduleRow): Promise<ScheduleView> {
    const scheduleId = workflowIds.schedule(row.tenantId, row.id);
    const spec = row.spec as ScheduleSpecInput;
    const base = {
      id: row.id,
      temporalScheduleId: scheduleId,
      name: row.name,
      description: row.description,
      job: row.job as ScheduleJob,
      spec,
      preview: specPreview(spec),
      createdBy: row.createdBy,
      createdAt: row.createdAt.toISOString(),
      updatedBy: row.updatedBy,
      updatedAt: row.updatedAt.toISOString(),
    };
    let d: ScheduleDescription;
    try {
      d = await this.handle(row).describe();
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
      // The row outlived its Temporal schedule (deleted with the CLI): shown as paused, with why, so it can be deleted.
      return {
        ...base,
        policy: { overlap: 'skip', catchupWindow: '1m', pauseOnFailure: false },
        state: { paused: true, note: 'The Temporal schedule is gone (deleted outside the API); delete this one.' },
        nextRuns: [],
        recentRuns: [],
        running: [],
        counts: { taken: 0, skippedOverlap: 0, missedCatchup: 0 },
      };
    }
    const recent = [...d.info.recentActions].reverse().slice(0, 10);
    const statuses = new Map<string, RunStatus>();
    if (recent.length) {
      const { runs } = await this.runs.list(row.tenantId, { scheduleId, pageSize: 20 });
      for (const r of runs) if (r.status !== 'unknown') statuses.set(r.workflowId, r.status);
    }
    return {
      ...base,
      policy: SchedulesService.policyOf(d),
      state: { paused: d.state.paused, note: d.state.note || null },
      nextRuns: d.state.paused ? [] : d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
      recentRuns: recent.map((a) => ({
        workflowId: a.action.workflow.workflowId,
        scheduledAt: a.scheduledAt.toISOString(),
        startedAt: a.takenAt.toISOString(),
        status: statuses.get(a.action.workflow.workflowId) ?? null,
      })),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
      counts: {
        taken: d.info.numActionsTaken,
        skippedOverlap: d.info.numActionsSkippedOverlap,
        missedCatchup: d.info.numActionsMissedCatchupWindow,
      },
    };
  }
}
