import { WorkflowNotFoundError } from '@temporalio/client';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { RUN_KINDS, type RunKind } from '../../lib/contracts';
import { notFound } from '../../lib/errors';
import {
  applyPatch,
  effectiveLimits,
  KeyedMutex,
  QUOTA_CODES,
  QuotaExceededError,
  Quotas,
  type QuotaLimits,
  type QuotaOverridesPatch,
} from '../../lib/quota';
import { isUuid } from '../schemas';
import type { Principal } from '../auth/api-keys';
import type { AppDeps } from '../deps';

/** A run about to be started (api/runs/start.ts). */
export interface RunToStart {
  workflowId: string;
  tenantId: string;
  kind: RunKind;
}

/** Self-tests call no model, so the token quota does not hold them back. */
const KINDS_WITHOUT_MODEL_CALLS: ReadonlySet<RunKind> = new Set(['system']);

/** A run this process started stays counted until visibility lists it (or says it ended) for at most this long. */
const VISIBILITY_LAG_MS = 30_000;

/** How long a tenant's limits are reused before they are read again. */
const LIMITS_TTL_MS = 1000;

/** Values are ours (uuids, run kinds), quoted for a visibility query all the same. */
const quote = (v: string) => `'${v.replace(/['\\]/g, '')}'`;

const requestsKey = (p: Principal) => (p.via === 'key' ? `key:${p.keyId}` : `session:${p.sessionId}`);

/**
 * The quotas of the API process: the database checks (lib/quota) plus what only this process can see — its requests
 * per key or session (in memory), and the runs it is starting (so a burst of parallel starts cannot overshoot a
 * concurrency limit while Temporal's visibility has not caught up).
 */
export class QuotaService {
  readonly quotas: Quotas;
  /**
   * Requests per minute per key or session, counted in this process's memory: with N API processes behind a load
   * balancer a key can make up to N × its limit. The limiter itself never refuses (its points are unbounded); the
   * tenant's limit (limits()) is compared with the count, so a changed limit applies to the next request.
   */
  private readonly requests = new RateLimiterMemory({ points: Number.MAX_SAFE_INTEGER, duration: 60 });
  /** One check-and-start at a time per tenant and run kind in this process. */
  private readonly starts = new KeyedMutex();
  /** Runs this process started that visibility may not list yet, per `tenant:kind`: workflow id → when started. */
  private readonly recent = new Map<string, Map<string, number>>();
  private readonly limitsCache = new Map<string, { limits: QuotaLimits; until: number }>();

  constructor(readonly deps: Pick<AppDeps, 'config' | 'orm' | 'temporal'>) {
    this.quotas = new Quotas(deps.orm, deps.config);
  }

  /**
   * The tenant's effective limits, read again after LIMITS_TTL_MS (every request and run start needs them). A change
   * through this process applies at once; one made through another API process within that time.
   */
  async limits(tenantId: string): Promise<QuotaLimits> {
    const cached = this.limitsCache.get(tenantId);
    if (cached && cached.until > Date.now()) return cached.limits;
    const limits = await this.quotas.limits(tenantId);
    this.limitsCache.set(tenantId, { limits, until: Date.now() + LIMITS_TTL_MS });
    return limits;
  }

  /** Counts a request of this key or session; refuses it past the tenant's requests per minute. */
  async countRequest(p: Principal): Promise<{ limit: number; remaining: number; resetSeconds: number } | null> {
    const limit = (await this.limits(p.tenantId)).requestsPerMinute;
    const res = await this.requests.consume(requestsKey(p));
    if (!limit) return null;
    const resetSeconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    if (res.consumedPoints > limit)
      throw new QuotaExceededError({
        code: QUOTA_CODES.requests,
        message: `This ${p.via} has made ${res.consumedPoints} requests this minute; the limit is ${limit} per minute.`,
        quota: 'requestsPerMinute',
        limit,
        used: res.consumedPoints,
        retryAfterSeconds: resetSeconds,
      });
    return { limit, remaining: Math.max(0, limit - res.consumedPoints), resetSeconds };
  }

  /**
   * Starts a run within the tenant's quotas, or refuses it (429) without starting it. A workflow id that exists
   * already is the same run (an idempotent start): it is returned whatever the quotas say.
   */
  async admitRun<T>(run: RunToStart, start: () => Promise<T>): Promise<T> {
    const limits = await this.limits(run.tenantId);
    const admit = async () => {
      let counted;
      try {
        if (!KINDS_WITHOUT_MODEL_CALLS.has(run.kind)) await this.quotas.checkTokens(run.tenantId, limits);
        if (limits.concurrentRuns) await this.checkConcurrency(run, limits);
        counted = await this.quotas.takeRunStart(run.tenantId, limits);
      } catch (e) {
        // Asked only on a refusal, to keep admitted starts at one round trip: a start of an existing run that passes
        // the checks is counted in the minute's starts (the start itself returns the existing run).
        if (e instanceof QuotaExceededError && (await this.exists(run.workflowId))) return start();
        throw e;
      }
      try {
        const started = await start();
        if (limits.concurrentRuns) this.recentOf(run).set(run.workflowId, Date.now());
        return started;
      } catch (e) {
        await this.quotas.store.returnRunStart(run.tenantId, counted.windowStart).catch(() => {});
        throw e;
      }
    };
    // Visibility is updated a moment after a start: without the lock, parallel starts would all count the same
    // running workflows and pass together. Across API processes the same race remains, bounded by that moment.
    return limits.concurrentRuns ? this.starts.run(`${run.tenantId}:${run.kind}`, admit) : admit();
  }

  /**
   * Whether a run of this kind would be admitted now, without counting it: for a service that writes before it
   * starts its run (the documents of an ingest), so a refusal leaves nothing written. The start is checked again.
   */
  async checkRun(run: Pick<RunToStart, 'tenantId' | 'kind'>): Promise<void> {
    const limits = await this.limits(run.tenantId);
    if (!KINDS_WITHOUT_MODEL_CALLS.has(run.kind)) await this.quotas.checkTokens(run.tenantId, limits);
    if (limits.concurrentRuns) await this.checkConcurrency({ ...run, workflowId: '' }, limits);
    await this.quotas.checkRunRate(run.tenantId, limits);
  }

  /** The caller's tenant's limits and usage (GET /v1/quotas). */
  async usage(p: Principal) {
    const { tenantId } = p;
    const [limits, requests, runsThisMinute, running, storage, tokensToday] = await Promise.all([
      this.limits(tenantId),
      this.requests.get(requestsKey(p)),
      this.quotas.store.runsThisMinute(tenantId),
      this.runningByKind(tenantId),
      this.quotas.store.storage(tenantId),
      this.quotas.store.tokensToday(tenantId),
    ]);
    return {
      tenantId,
      limits,
      defaults: this.quotas.defaults,
      usage: {
        requestsThisMinute: requests?.consumedPoints ?? 0,
        runsThisMinute,
        running,
        documents: storage.documents,
        bytes: storage.bytes,
        tokensToday,
      },
    };
  }

  /** A tenant's limits as a platform admin sees them: defaults, overrides, effective. Unknown tenant: 404. */
  async tenantQuotas(tenantId: string) {
    await this.ownTenant(tenantId);
    const stored = await this.quotas.store.overrides(tenantId);
    const defaults = this.quotas.defaults;
    return {
      tenantId,
      limits: effectiveLimits(defaults, stored.overrides),
      overrides: stored.overrides,
      defaults,
      updatedAt: stored.updatedAt,
      updatedBy: stored.updatedBy,
    };
  }

  async setTenantQuotas(tenantId: string, patch: QuotaOverridesPatch, updatedBy: string) {
    await this.ownTenant(tenantId);
    const current = (await this.quotas.store.overrides(tenantId)).overrides;
    await this.quotas.store.setOverrides(tenantId, applyPatch(current, patch), updatedBy);
    this.limitsCache.delete(tenantId);
    return this.tenantQuotas(tenantId);
  }

  private async ownTenant(tenantId: string) {
    if (!isUuid(tenantId) || !(await this.quotas.store.tenantExists(tenantId))) throw notFound('Tenant');
  }

  private async exists(workflowId: string): Promise<boolean> {
    try {
      await this.deps.temporal.workflow.getHandle(workflowId).describe();
      return true;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return false;
      throw e;
    }
  }

  private recentOf(run: Pick<RunToStart, 'tenantId' | 'kind'>) {
    const key = `${run.tenantId}:${run.kind}`;
    let m = this.recent.get(key);
    if (!m) this.recent.set(key, (m = new Map()));
    return m;
  }

  /**
   * Running workflows of the tenant and kind: what visibility lists (the source of truth, shared by every process),
   * plus the runs this process started that it does not list yet and that are still running.
   */
  private async checkConcurrency(run: RunToStart, limits: QuotaLimits): Promise<void> {
    const limit = limits.concurrentRuns;
    const listed = new Set<string>();
    const query = `TenantId = ${quote(run.tenantId)} AND RunKind = ${quote(run.kind)} AND ExecutionStatus = 'Running'`;
    for await (const wf of this.deps.temporal.workflow.list({ query, pageSize: limit + 1 })) {
      listed.add(wf.workflowId);
      if (listed.size >= limit) break;
    }
    let running = listed.size;
    const recent = this.recentOf(run);
    for (const [workflowId, startedAt] of recent) {
      if (running >= limit) break;
      if (listed.has(workflowId) || Date.now() - startedAt > VISIBILITY_LAG_MS) {
        recent.delete(workflowId);
        continue;
      }
      const status = await this.deps.temporal.workflow
        .getHandle(workflowId)
        .describe()
        .then((d) => d.status.name)
        .catch(() => 'GONE');
      if (status === 'RUNNING') running++;
      else recent.delete(workflowId);
    }
    if (running >= limit)
      throw new QuotaExceededError({
        code: QUOTA_CODES.concurrency,
        message: `The tenant has ${running} ${run.kind} runs running, its limit is ${limit} at a time; start this one when one of them has finished.`,
        quota: 'concurrentRuns',
        limit,
        used: running,
        // No clock says when a run ends; a short wait, then the client tries again.
        retryAfterSeconds: 5,
        extra: { kind: run.kind },
      });
  }

  private async runningByKind(tenantId: string): Promise<Record<RunKind, number>> {
    const counts = await Promise.all(
      RUN_KINDS.map((kind) =>
        this.deps.temporal.workflow
          .count(`TenantId = ${quote(tenantId)} AND RunKind = ${quote(kind)} AND ExecutionStatus = 'Running'`)
          .then((r) => r.count),
      ),
    );
    return Object.fromEntries(RUN_KINDS.map((k, i) => [k, counts[i]])) as Record<RunKind, number>;
  }
}
