import type { Config } from '../config';
import type { Orm } from '../db/orm';
import { QUOTA_CODES, QuotaExceededError, STORAGE_RETRY_AFTER_SECONDS, secondsToUtcMidnight } from './errors';
import { defaultLimits, effectiveLimits, type QuotaLimits } from './limits';
import { QuotaStore, type RunWindow } from './store';

/**
 * The checks that need only the database and the settings: a tenant's effective limits, documents and bytes stored,
 * model tokens today, runs started this minute. Each refusal is a QuotaExceededError (429).
 */
export class Quotas {
  readonly store: QuotaStore;

  constructor(
    orm: Orm,
    private readonly config: Pick<Config, 'quotas'>,
  ) {
    this.store = new QuotaStore(orm);
  }

  get defaults(): QuotaLimits {
    return defaultLimits(this.config);
  }

  /** Read on every use, so a platform admin's change applies to the next request in every API process. */
  async limits(tenantId: string): Promise<QuotaLimits> {
    return effectiveLimits(this.defaults, (await this.store.overrides(tenantId)).overrides);
  }

  /**
   * Before documents are accepted: what the tenant stores plus what this adds stays within its limits. Two uploads of
   * one tenant checked at the same moment can together pass a limit by what they add (the check is not a lock).
   */
  async checkStorage(tenantId: string, add: { documents: number; bytes: number }, limits?: QuotaLimits) {
    const { maxDocuments, maxBytes } = limits ?? (await this.limits(tenantId));
    if (!maxDocuments && !maxBytes) return;
    const used = await this.store.storage(tenantId);
    if (maxDocuments && used.documents + add.documents > maxDocuments)
      throw new QuotaExceededError({
        code: QUOTA_CODES.storage,
        message: `The tenant stores ${used.documents} documents; ${add.documents} more would pass its limit of ${maxDocuments}. Delete documents or ask for a higher limit.`,
        quota: 'maxDocuments',
        limit: maxDocuments,
        used: used.documents,
        retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
      });
    if (maxBytes && used.bytes + add.bytes > maxBytes)
      throw new QuotaExceededError({
        code: QUOTA_CODES.storage,
        message: `The tenant stores ${used.bytes} bytes; ${add.bytes} more would pass its limit of ${maxBytes}. Delete documents or ask for a higher limit.`,
        quota: 'maxBytes',
        limit: maxBytes,
        used: used.bytes,
        retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
      });
  }

  /** Before a run that may call models: the tenant's model tokens today (UTC) are under its daily limit. */
  async checkTokens(tenantId: string, limits: QuotaLimits): Promise<void> {
    if (!limits.dailyTokens) return;
    const used = await this.store.tokensToday(tenantId);
    if (used >= limits.dailyTokens)
      throw new QuotaExceededError({
        code: QUOTA_CODES.tokens,
        message: `The tenant has used ${used} model tokens today, its daily limit is ${limits.dailyTokens}; it resets at 00:00 UTC.`,
        quota: 'dailyTokens',
        limit: limits.dailyTokens,
        used,
        retryAfterSeconds: secondsToUtcMidnight(),
      });
  }

  /** Counts a run start in this minute, or refuses it when the tenant's runs per minute are used up. */
  async takeRunStart(tenantId: string, limits: QuotaLimits): Promise<RunWindow> {
    const window = await this.store.takeRunStart(tenantId, limits.runsPerMinute);
    if (!window.admitted) throw runRateLimited(limits, window);
    return window;
  }

  /** Refuses when the tenant's runs per minute are used up, without counting a start. */
  async checkRunRate(tenantId: string, limits: QuotaLimits): Promise<void> {
    if (!limits.runsPerMinute) return;
    const window = await this.store.currentWindow(tenantId);
    if (window.runs >= limits.runsPerMinute) throw runRateLimited(limits, window);
  }
}

function runRateLimited(limits: QuotaLimits, window: Pick<RunWindow, 'runs' | 'secondsLeft'>) {
  return new QuotaExceededError({
    code: QUOTA_CODES.runs,
    message: `The tenant has started ${window.runs} runs this minute, its limit is ${limits.runsPerMinute} per minute.`,
    quota: 'runsPerMinute',
    limit: limits.runsPerMinute,
    used: window.runs,
    retryAfterSeconds: window.secondsLeft,
  });
}
