/**
 * Scheduled batch jobs (issue 18): the job workflows a Temporal Schedule starts, and what they report. Every job run
 * has kind `batch`, the tenant's `TenantId` and, when a schedule started it, the `ScheduleId` search attribute.
 */

/** What can be deleted by age (tenant settings `retention`, in days; null keeps it forever). */
export const RETENTION_KINDS = ['answers', 'runEvents', 'spans', 'modelCalls', 'audit', 'blobs'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];
/**
 * Days each kind is kept; null (the default) keeps it forever. `blobs`: how many days an uploaded file that no
 * document references is kept before it is deleted (a grace period, so an upload whose document row is not written
 * yet is never lost).
 */
export type RetentionAges = Record<RetentionKind, number | null>;

/** The `retention` job: deletes the tenant's data past its configured ages (tenant settings, or `ages` here). */
export interface RetentionInput {
  tenantId: string;
  /** The Temporal schedule id that started the run, when one did. */
  scheduleId?: string;
  /** Who set the job up (the schedule's creator, or the caller of a manual run). */
  actor: string;
  /** Overrides of the tenant's settings for this job (days; null keeps that kind). */
  ages?: Partial<RetentionAges>;
  /** One line for the runs list. */
  name?: string;
}

export interface RetentionReport {
  /** The cutoff of each kind (ISO), null for a kind that is kept. Fixed once per run, so a retry deletes the same. */
  cutoffs: Record<RetentionKind, string | null>;
  /** Rows (files for blobs) deleted per kind. */
  deleted: Record<RetentionKind, number>;
}

/** The `syncSource` job: one sync of a source of a collection (issue 18 item 2). */
export interface SyncSourceInput {
  tenantId: string;
  collectionId: string;
  sourceId: string;
  scheduleId?: string;
  actor: string;
  name?: string;
  /** Carried across continue-as-new. */
  progress?: SyncProgress;
  /** Carried across continue-as-new: the documents the listing removed (their answers are checked at the end). */
  removedDocumentIds?: string[];
}

export interface SyncProgress {
  added: number;
  changed: number;
  unchanged: number;
  removed: number;
  failed: number;
  /** The most recent failures (capped), with their reasons. */
  failures: Array<{ location: string; reason: string }>;
}

export type SyncReport = SyncProgress & {
  sourceId: string;
  collectionId: string;
  chunks: number;
  /** The answers that cited a changed or removed document, checked again (workflows/recheck-answers.ts). */
  answers?: RecheckAnswersReport;
};

/** The jobs a schedule can start: the workflow type and its input, less what the schedule supplies. */
export const BATCH_JOB_TYPES = ['retention', 'syncSource', 'evalRun'] as const;
export type BatchJobType = (typeof BATCH_JOB_TYPES)[number];

/**
 * An answer checked again after the documents it cited changed (issue 18 item 3): `current` — every passage it cited
 * is still in its document, word for word; `stale` — a cited passage changed or went, but the answer is still
 * supported by what the documents say now; `unsupported_now` — what the documents say now no longer supports it
 * (or every document it cited is gone).
 */
export const ANSWER_FRESHNESS = ['current', 'stale', 'unsupported_now'] as const;
export type AnswerFreshness = (typeof ANSWER_FRESHNESS)[number];

export interface AnswerFreshnessDetail {
  /** Cited passages no longer found word for word in their document, by citation number. */
  changedCitations: number[];
  /** Cited documents that are gone. */
  removedDocuments: string[];
  /** The grounding score against the documents' current text (null when every cited passage is unchanged). */
  score: number | null;
  threshold: number;
  /** The run that found the change (a sync), when one did. */
  causeWorkflowId: string | null;
}

/** The `recheckAnswers` workflow: the tenant's answers citing any of `documentIds`, checked against their text now. */
export interface RecheckAnswersInput {
  tenantId: string;
  documentIds: string[];
  /** The run whose changes started this (a sync), recorded on each verdict. */
  causeWorkflowId?: string;
  /** Carried across continue-as-new: answers already checked and the counts so far. */
  after?: { createdAt: string; id: string };
  counts?: RecheckAnswersReport;
}

export interface RecheckAnswersReport {
  checked: number;
  current: number;
  stale: number;
  unsupported_now: number;
}
