import { proxyActivities } from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import {
  applicationFailure,
  FAILURES,
  RETENTION_KINDS,
  type RetentionAges,
  type RetentionInput,
  type RetentionKind,
  type RetentionReport,
} from '../lib/contracts';
import { databaseStep, retentionDeleteStep } from './policies';

const { retentionAges } = proxyActivities<DatabaseActivities>(databaseStep);
const { deleteExpiredKind } = proxyActivities<ReturnType<typeof createActivities>>(retentionDeleteStep);

const DAY_MS = 86_400_000;

/**
 * The `retention` batch job (issue 18 item 4): deletes the tenant's answers, run events, spans, model-call records,
 * audit entries and unreferenced blobs past their ages (the tenant's settings, overridden per kind by `input.ages`).
 * Each cutoff is fixed once from the workflow's clock when the run starts, so a retried step deletes the same set and
 * a second run deletes nothing more; kinds run one after another.
 */
export async function retention(input: RetentionInput): Promise<RetentionReport> {
  const now = Date.now();
  for (const [kind, days] of Object.entries(input.ages ?? {})) {
    if (!(RETENTION_KINDS as readonly string[]).includes(kind) || !isDays(days)) {
      throw applicationFailure(
        FAILURES.selfTest.badInput.type,
        `ages.${kind}: a kind of ${RETENTION_KINDS.join(', ')} with a whole number of days from 1 to 36500, or null`,
      );
    }
  }
  const ages: RetentionAges = { ...(await retentionAges({ tenantId: input.tenantId })) };
  for (const kind of RETENTION_KINDS) {
    const override = input.ages?.[kind];
    if (override !== undefined) ages[kind] = override;
  }

  const cutoffs = {} as Record<RetentionKind, string | null>;
  const deleted = {} as Record<RetentionKind, number>;
  for (const kind of RETENTION_KINDS) {
    const days = ages[kind];
    cutoffs[kind] = days === null ? null : new Date(now - days * DAY_MS).toISOString();
  }
  for (const kind of RETENTION_KINDS) {
    const cutoff = cutoffs[kind];
    deleted[kind] = cutoff ? (await deleteExpiredKind({ tenantId: input.tenantId, kind, cutoff })).deleted : 0;
  }
  return { cutoffs, deleted };
}

const isDays = (v: unknown): boolean =>
  v === null || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 36_500);
