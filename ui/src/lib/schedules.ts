/**
 * The Schedules pages' logic that needs no browser: durations and intervals in words, the human-readable preview of
 * a spec (cronstrue for cron), the create/edit form's state turned into the API's body (with the problems found
 * before sending), the API's 400s mapped back onto the form's fields, and labels of jobs and overlap policies.
 */
import cronstrue from 'cronstrue';
import type { RetentionKind } from '../../../lib/contracts/batch';
import type { EvalConfig, PromptSelection } from '../../../lib/contracts/evals';
import type {
  NewSchedule,
  OverlapPolicy,
  ScheduleChanges,
  ScheduleJob,
  SchedulePolicy,
  ScheduleSpec,
  ScheduleView,
} from '../api/schedules';
import { promptSelectionFromForm } from './evals';

export const DURATION_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

const UNIT_MS: Record<DurationUnit, number> = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 };
const UNIT_SUFFIX: Record<DurationUnit, string> = { seconds: 's', minutes: 'm', hours: 'h', days: 'd' };
const SUFFIX_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The API's durations: one number and one unit (as api/schedules/spec.ts reads them). */
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;

/** `'90s'`, `'5m'`, `'1h'`, `'1d'`, `'500ms'` → milliseconds; null for anything else (an empty string too). */
export function parseDuration(text: string | null | undefined): number | null {
  const m = DURATION.exec((text ?? '').trim().toLowerCase());
  return m ? Number(m[1]) * SUFFIX_MS[m[2]!]! : null;
}

const WORDS: Array<[number, string]> = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
  [1, 'millisecond'],
];

/** Milliseconds in the largest whole unit: 7_200_000 → "2 hours", 90_000 → "90 seconds" (the server's words). */
export function durationWords(ms: number): string {
  for (const [size, word] of WORDS) {
    if (ms % size === 0) return `${ms / size} ${word}${ms / size === 1 ? '' : 's'}`;
  }
  return `${ms} milliseconds`;
}

/** An interval as a person says it: "Every 2 seconds", "Every minute", "Every 6 hours". */
export function intervalText(every: string, offset?: string | null): string {
  const ms = parseDuration(every);
  if (ms === null || ms <= 0) return `Every ${every}`;
  const words = durationWords(ms);
  const base = words.startsWith('1 ') ? `Every ${words.slice(2)}` : `Every ${words}`;
  const off = parseDuration(offset);
  return off ? `${base}, offset ${durationWords(off)}` : base;
}

/** Temporal's cron specs here are the classic five fields: minute, hour, day of month, month, day of week. */
export function cronProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    return `has ${fields.length} field${fields.length === 1 ? '' : 's'}; a cron expression has 5 (minute hour day month weekday)`;
  try {
    cronstrue.toString(expression, { throwExceptionOnParseError: true });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function cronText(expression: string): string {
  try {
    return cronstrue.toString(expression.trim(), { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return `Cron ${expression.trim()}`;
  }
}

/**
 * What a spec runs, in words: its intervals and cron expressions (cron read in the spec's time zone), then jitter.
 * The same words as the server's `preview` (api/schedules/spec.ts), so the form's preview is what the list shows.
 */
export function specPreview(spec: ScheduleSpec): string {
  const parts = [
    ...(spec.intervals ?? []).map((i) => intervalText(i.every, i.offset)),
    ...(spec.cron ?? []).map(cronText),
  ];
  if (!parts.length) return 'Never (no interval or cron expression)';
  let text = parts.join('; ');
  if (spec.cron?.length) text += ` (${spec.timezone || 'UTC'})`;
  const jitter = parseDuration(spec.jitter);
  if (jitter) text += `, up to ${durationWords(jitter)} later`;
  return text;
}

const retentionLabels: Record<RetentionKind, string> = {
  answers: 'Answers',
  runEvents: 'Run events',
  spans: 'Trace spans',
  modelCalls: 'Model-call records',
  audit: 'Audit entries',
  blobs: 'Unreferenced uploads',
};
/** Every kind the retention job deletes, in the contracts' order, with its label. */
export const RETENTION_KINDS = Object.entries(retentionLabels).map(([kind, label]) => ({
  kind: kind as RetentionKind,
  label,
}));

const overlapPolicies: Record<OverlapPolicy, { label: string; explanation: string }> = {
  skip: { label: 'Skip', explanation: 'While a run is still going, a run that falls due is not started.' },
  buffer_one: {
    label: 'Buffer one',
    explanation: 'While a run is going, one run that falls due waits and starts when it ends; any more are skipped.',
  },
  buffer_all: {
    label: 'Buffer all',
    explanation: 'Every run that falls due while another is going waits its turn; they start one after another.',
  },
  cancel_other: {
    label: 'Cancel other',
    explanation: 'A run that falls due cancels the one still going (it may clean up), then starts.',
  },
  terminate_other: {
    label: 'Terminate other',
    explanation: 'A run that falls due ends the one still going at once (no clean-up), then starts.',
  },
  allow_all: { label: 'Allow all', explanation: 'Every run starts when it falls due, even while others are going.' },
};
export const OVERLAP_POLICIES = Object.entries(overlapPolicies).map(([value, o]) => ({
  value: value as OverlapPolicy,
  ...o,
}));
export const overlapLabel = (p: OverlapPolicy) => overlapPolicies[p]?.label ?? p;

/** Names the job labels use; an id not found is shown shortened. */
export interface JobNames {
  collections: Record<string, string>;
  sources: Record<string, string>;
}

/** "Retention", "Sync: <source> → <collection>" or "Eval: dataset <id> (v<n>)". */
export function jobLabel(job: ScheduleJob, names: JobNames = { collections: {}, sources: {} }): string {
  if (job.type === 'retention') return 'Retention';
  if (job.type === 'evalRun')
    return `Eval: dataset ${job.datasetId.slice(0, 8)}${job.datasetVersion ? ` (v${job.datasetVersion})` : ''}`;
  const source = names.sources[job.sourceId] ?? `source ${job.sourceId.slice(0, 8)}`;
  const collection = names.collections[job.collectionId] ?? `collection ${job.collectionId.slice(0, 8)}`;
  return `Sync: ${source} → ${collection}`;
}

/** The create/edit form, as the inputs hold it (numbers as typed). */
export interface ScheduleForm {
  name: string;
  description: string;
  jobType: ScheduleJob['type'];
  /** Days per kind; '' keeps the tenant's setting. */
  ages: Record<RetentionKind, string>;
  collectionId: string;
  sourceId: string;
  /** An eval run's dataset; its version as typed, '' for the latest when each run begins. */
  datasetId: string;
  datasetVersion: string;
  /** The collections an eval run answers from. */
  evalCollectionIds: string[];
  /** '' for the defaults: top k of the retrieval, the tenant's answer model, the production answer prompt, 4 at once. */
  topK: string;
  answerModel: string;
  /** A version number or a label name. */
  answerPrompt: string;
  concurrency: string;
  /**
   * The rest of an edited eval job's config, which the form does not show (judge model, rerank, grounding, other
   * prompts, ...): kept as it is, so an edit changes only what the form shows.
   */
  evalKept: Partial<EvalConfig>;
  specMode: 'interval' | 'cron';
  every: string;
  unit: DurationUnit;
  /** Cron expressions, one a line. */
  cron: string;
  timezone: string;
  /** Durations as typed: '30s', '5m', '' for none. */
  jitter: string;
  overlap: OverlapPolicy;
  catchupWindow: string;
  pauseOnFailure: boolean;
  /** Only when creating: start paused. */
  paused: boolean;
}

export function emptyForm(jobType: ScheduleJob['type'] = 'retention'): ScheduleForm {
  return {
    name: '',
    description: '',
    jobType,
    ages: Object.fromEntries(RETENTION_KINDS.map((k) => [k.kind, ''])) as Record<RetentionKind, string>,
    collectionId: '',
    sourceId: '',
    datasetId: '',
    datasetVersion: '',
    evalCollectionIds: [],
    topK: '',
    answerModel: '',
    answerPrompt: '',
    concurrency: '',
    evalKept: {},
    specMode: 'interval',
    every: '1',
    unit: 'days',
    cron: '',
    timezone: 'UTC',
    jitter: '',
    overlap: 'skip',
    catchupWindow: '',
    pauseOnFailure: false,
    paused: false,
  };
}

/** A duration as the form's number and unit, in the largest whole unit: '120s' → 2 minutes. */
export function splitDuration(text: string): { every: string; unit: DurationUnit } {
  const ms = parseDuration(text);
  if (ms === null || ms < 1000 || ms % 1000 !== 0) return { every: '', unit: 'seconds' };
  for (const unit of ['days', 'hours', 'minutes'] as const)
    if (ms % UNIT_MS[unit] === 0) return { every: String(ms / UNIT_MS[unit]), unit };
  return { every: String(ms / 1000), unit: 'seconds' };
}

/** The form filled from a schedule, to edit it. */
export function formFromSchedule(s: ScheduleView): ScheduleForm {
  const form = emptyForm(s.job.type);
  form.name = s.name;
  form.description = s.description ?? '';
  if (s.job.type === 'retention') {
    for (const { kind } of RETENTION_KINDS) {
      const days = s.job.ages?.[kind];
      form.ages[kind] = days === undefined || days === null ? '' : String(days);
    }
  } else if (s.job.type === 'syncSource') {
    form.collectionId = s.job.collectionId;
    form.sourceId = s.job.sourceId;
  } else if (s.job.type === 'evalRun') {
    const { collectionIds, topK, model, prompts, ...rest } = s.job.config;
    const { answer, ...otherPrompts } = prompts ?? {};
    form.datasetId = s.job.datasetId;
    form.datasetVersion = s.job.datasetVersion ? String(s.job.datasetVersion) : '';
    form.evalCollectionIds = [...collectionIds];
    form.topK = topK === undefined ? '' : String(topK);
    form.answerModel = model ?? '';
    form.answerPrompt = answer === undefined ? '' : String(answer);
    form.concurrency = s.job.concurrency === undefined ? '' : String(s.job.concurrency);
    form.evalKept = Object.keys(otherPrompts).length ? { ...rest, prompts: otherPrompts } : rest;
  }
  const interval = s.spec.intervals?.[0];
  if (s.spec.cron?.length || !interval) {
    form.specMode = 'cron';
    form.cron = (s.spec.cron ?? []).join('\n');
  } else Object.assign(form, { specMode: 'interval' }, splitDuration(interval.every));
  form.timezone = s.spec.timezone || 'UTC';
  form.jitter = s.spec.jitter && parseDuration(s.spec.jitter) ? s.spec.jitter : '';
  form.overlap = s.policy.overlap;
  form.catchupWindow = s.policy.catchupWindow ?? '';
  form.pauseOnFailure = s.policy.pauseOnFailure;
  form.paused = s.state.paused;
  return form;
}

/** Field names the form shows errors under. */
export type ScheduleField =
  | 'name'
  | 'description'
  | 'job'
  | 'collectionId'
  | 'sourceId'
  | `ages.${RetentionKind}`
  | 'datasetId'
  | 'datasetVersion'
  | 'evalCollectionIds'
  | 'topK'
  | 'answerModel'
  | 'answerPrompt'
  | 'concurrency'
  | 'every'
  | 'cron'
  | 'timezone'
  | 'jitter'
  | 'overlap'
  | 'catchupWindow'
  | 'form';
export type FieldErrors = Partial<Record<ScheduleField, string>>;

const durationHint = 'a number and a unit: 30s, 5m, 2h or 1d';

/** The spec the form describes (with only what was filled in), and what is wrong with it. */
export function specFromForm(form: ScheduleForm): { spec: ScheduleSpec; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const spec: ScheduleSpec = { timezone: form.timezone || 'UTC' };
  if (form.specMode === 'interval') {
    // String(): a number input's v-model gives numbers once something is typed.
    const every = String(form.every).trim();
    const n = Number(every);
    if (!/^\d+$/.test(every) || !Number.isSafeInteger(n) || n < 1) errors.every = 'Enter a whole number of at least 1.';
    else spec.intervals = [{ every: `${n}${UNIT_SUFFIX[form.unit]}` }];
  } else {
    const lines = form.cron
      .split(/\r?\n/)
      .map((l) => l.trim().split(/\s+/).join(' '))
      .filter(Boolean);
    if (!lines.length) errors.cron = 'Enter at least one cron expression, e.g. 0 2 * * * (every day at 02:00).';
    const problems = lines.flatMap((l, i) => {
      const p = cronProblem(l);
      return p ? [`Line ${i + 1} (${l}): ${p}`] : [];
    });
    if (problems.length) errors.cron = problems.join(' ');
    else if (lines.length) spec.cron = lines;
  }
  if (form.jitter.trim()) {
    if (parseDuration(form.jitter) === null) errors.jitter = `Enter ${durationHint}, or leave it empty.`;
    else spec.jitter = form.jitter.trim().toLowerCase();
  }
  return { spec, errors };
}

/** A whole number typed in a number input (which may give a number), within bounds; '' when blank. */
function wholeNumber(raw: string | number | null | undefined, min: number, max: number): number | '' | null {
  const text = String(raw ?? '').trim();
  if (!text) return '';
  const n = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
}

/** As the API names models (`gpt-4o-mini`, `local:minilm`, `org/model`) and prompt labels. */
const MODEL_NAME = /^[A-Za-z0-9._:/-]{1,200}$/;
const PROMPT_LABEL = /^[a-z0-9_-]{1,40}$/;
/** At most this many collections in one eval config (api/schemas.ts collectionIdList). */
export const MAX_EVAL_COLLECTIONS = 20;

/** An eval-run job from the form: the dataset, the collections and the optional settings filled in. */
function evalJobFromForm(form: ScheduleForm): { job: ScheduleJob; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!form.datasetId) errors.datasetId = 'Pick a dataset.';
  const version = wholeNumber(form.datasetVersion, 1, 1_000_000);
  if (version === null)
    errors.datasetVersion = 'A version of the dataset (1 or more); empty: the latest when each run begins.';
  const collectionIds = [...new Set(form.evalCollectionIds)];
  // A grounding eval (kept from an edited schedule: the form does not offer the target) reads no collection.
  if (!collectionIds.length && form.evalKept.target !== 'grounding')
    errors.evalCollectionIds = 'Pick at least one collection.';
  else if (collectionIds.length > MAX_EVAL_COLLECTIONS)
    errors.evalCollectionIds = `At most ${MAX_EVAL_COLLECTIONS} collections.`;
  const topK = wholeNumber(form.topK, 1, 50);
  if (topK === null) errors.topK = 'A whole number from 1 to 50; empty uses the default.';
  const concurrency = wholeNumber(form.concurrency, 1, 16);
  if (concurrency === null) errors.concurrency = 'A whole number from 1 to 16; empty answers 4 items at once.';
  const model = form.answerModel.trim();
  if (model && !MODEL_NAME.test(model))
    errors.answerModel = 'A model name: letters, digits and . _ : / - only; empty uses the tenant’s answer model.';
  const prompt = form.answerPrompt.trim();
  const promptOk = /^\d+$/.test(prompt) ? wholeNumber(prompt, 1, 1_000_000) !== null : PROMPT_LABEL.test(prompt);
  if (prompt && !promptOk)
    errors.answerPrompt =
      'A version number or a label name (lowercase letters, digits, - and _); empty uses the production prompt.';
  const { prompts: kept, ...rest } = form.evalKept;
  const answer = promptSelectionFromForm({ answer: prompt });
  const prompts: PromptSelection | undefined = kept || answer ? { ...kept, ...answer } : undefined;
  const config: EvalConfig = {
    ...rest,
    collectionIds,
    ...(model ? { model } : {}),
    ...(prompts ? { prompts } : {}),
    ...(typeof topK === 'number' ? { topK } : {}),
  };
  return {
    job: {
      type: 'evalRun',
      datasetId: form.datasetId,
      ...(typeof version === 'number' ? { datasetVersion: version } : {}),
      config,
      ...(typeof concurrency === 'number' ? { concurrency } : {}),
    },
    errors,
  };
}

/** The job the form describes, and what is wrong with it. */
export function jobFromForm(form: ScheduleForm): { job: ScheduleJob; errors: FieldErrors } {
  if (form.jobType === 'evalRun') return evalJobFromForm(form);
  const errors: FieldErrors = {};
  if (form.jobType === 'syncSource') {
    if (!form.collectionId) errors.collectionId = 'Pick a collection.';
    else if (!form.sourceId) errors.sourceId = 'Pick a source of the collection.';
    return { job: { type: 'syncSource', collectionId: form.collectionId, sourceId: form.sourceId }, errors };
  }
  const ages: Partial<Record<RetentionKind, number>> = {};
  for (const { kind } of RETENTION_KINDS) {
    const text = String(form.ages[kind] ?? '').trim();
    if (!text) continue;
    const days = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(days) || days < 1)
      errors[`ages.${kind}`] = 'Whole days, at least 1; empty keeps the tenant setting.';
    else ages[kind] = days;
  }
  return { job: Object.keys(ages).length ? { type: 'retention', ages } : { type: 'retention' }, errors };
}

/** The body of `POST /v1/schedules` (and, less `paused`, of a PATCH), or the problems that keep it from being sent. */
export function scheduleBodyFromForm(
  form: ScheduleForm,
): { body: NewSchedule; errors: FieldErrors } | { body: null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = form.name.trim();
  if (!name) errors.name = 'Give the schedule a name.';
  else if (name.length > 100) errors.name = 'At most 100 characters.';
  const job = jobFromForm(form);
  const spec = specFromForm(form);
  const policy: SchedulePolicy = { overlap: form.overlap, pauseOnFailure: form.pauseOnFailure };
  if (form.catchupWindow.trim()) {
    const ms = parseDuration(form.catchupWindow);
    if (ms === null) errors.catchupWindow = `Enter ${durationHint}, or leave it empty.`;
    else if (ms < 10_000) errors.catchupWindow = 'At least 10 seconds.';
    else policy.catchupWindow = form.catchupWindow.trim().toLowerCase();
  }
  Object.assign(errors, job.errors, spec.errors);
  if (Object.keys(errors).length) return { body: null, errors };
  const description = form.description.trim();
  return {
    body: {
      name,
      ...(description ? { description } : {}),
      job: job.job,
      spec: spec.spec,
      policy,
      ...(form.paused ? { paused: true } : {}),
    },
    errors,
  };
}

/** Which form field a path of the API's validation error (`details[].path`) is about. */
export function fieldOfPath(path: ReadonlyArray<string | number>): ScheduleField {
  const [top, second, third] = path;
  if (top === 'name' || top === 'description') return top;
  if (top === 'job') {
    if (second === 'ages' && typeof third === 'string' && third in retentionLabels)
      return `ages.${third as RetentionKind}`;
    if (second === 'collectionId' || second === 'sourceId') return second;
    if (second === 'datasetId' || second === 'datasetVersion' || second === 'concurrency') return second;
    if (second === 'config') {
      if (third === 'collectionIds') return 'evalCollectionIds';
      if (third === 'topK') return 'topK';
      if (third === 'model') return 'answerModel';
      if (third === 'prompts' && path[3] === 'answer') return 'answerPrompt';
    }
    return 'job';
  }
  if (top === 'spec') {
    if (second === 'intervals') return 'every';
    if (second === 'cron') return 'cron';
    if (second === 'timezone' || second === 'jitter') return second;
    return 'form';
  }
  if (top === 'policy') return second === 'catchupWindow' ? 'catchupWindow' : second === 'overlap' ? 'overlap' : 'form';
  return 'form';
}

/** Refusals of an eval job's checks (api/schedules/service.ts, api/evals) that are about one field. */
const codeFields: Record<string, ScheduleField> = {
  unknown_dataset: 'datasetId',
  dataset_empty: 'datasetId',
  mixed_embedding_models: 'evalCollectionIds',
};

/**
 * A refusal of the API onto the form's fields: a validation failure's issues each under its field (`details` a list
 * of `{ path, message }`), an error naming one path (`details.path`) under that field, anything else on the form.
 */
export function fieldErrorsFromApi(error: { message: string; code?: string; details?: unknown }): FieldErrors {
  const byCode = error.code ? codeFields[error.code] : undefined;
  if (byCode) return { [byCode]: error.message };
  if (error.code === 'model_not_available' && error.message.startsWith('config.model:'))
    return { answerModel: error.message };
  const issues = Array.isArray(error.details) ? error.details : error.details ? [error.details] : [];
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    if (!Array.isArray(path)) continue;
    const field = fieldOfPath(path as Array<string | number>);
    const text = typeof message === 'string' && Array.isArray(error.details) ? message : error.message;
    errors[field] = errors[field] ? `${errors[field]} ${text}` : text;
  }
  if (!Object.keys(errors).length) errors.form = error.message;
  return errors;
}

/** The time zones a spec can use: UTC first (V8's list leaves it out), then the IANA zones. */
export function timeZones(): string[] {
  const supported = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...supported.filter((z) => z !== 'UTC')];
}

/** What a schedule page or the prefill link says about a sync job, from the query (`?job=syncSource&…`). */
export function prefillFromQuery(query: Record<string, unknown>): Partial<ScheduleForm> | null {
  const str = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');
  if (str(query.job) !== 'syncSource') return null;
  const collectionId = str(query.collectionId);
  const sourceId = str(query.sourceId);
  if (!collectionId) return null;
  const name = str(query.name);
  return { jobType: 'syncSource', collectionId, sourceId, ...(name ? { name: `Sync ${name}`.slice(0, 100) } : {}) };
}

/** The link a source's "Schedule…" opens: the new-schedule form with its sync job filled in. */
export function scheduleSyncLink(source: { id: string; collectionId: string; name: string }) {
  return {
    path: '/schedules',
    query: { job: 'syncSource', collectionId: source.collectionId, sourceId: source.id, name: source.name },
  };
}

/** A source's configuration in one line: "3 URLs: https://a…", "Sitemap https://…", "Folder /srv/docs". */
export function sourceSummary(config: { urls: string[] } | { url: string } | { path: string }): string {
  if ('urls' in config) {
    const [first] = config.urls;
    if (!first) return 'No URLs';
    return config.urls.length === 1 ? first : `${config.urls.length} URLs: ${first}, …`;
  }
  if ('url' in config) return `Sitemap ${config.url}`;
  return `Folder ${config.path}`;
}

/** JSON with keys in a stable order, to compare shapes that went through the API. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

const specKey = (s: ScheduleSpec) =>
  stable({
    cron: s.cron ?? [],
    // By length of time: '7200s' is '2h'.
    intervals: (s.intervals ?? []).map((i) => ({
      every: parseDuration(i.every),
      offset: parseDuration(i.offset) || null,
    })),
    timezone: s.timezone || 'UTC',
    jitter: parseDuration(s.jitter) || null,
  });

/**
 * What an edit changed, as a PATCH body: only the fields that differ from the schedule, so an unchanged job or spec
 * is not sent again (and a spec's start and end, which the form does not show, are kept).
 */
export function scheduleChanges(schedule: ScheduleView, body: NewSchedule): ScheduleChanges {
  const changes: ScheduleChanges = {};
  if (body.name !== schedule.name) changes.name = body.name;
  if ((body.description ?? '') !== (schedule.description ?? '')) changes.description = body.description ?? '';
  if (stable(body.job) !== stable(schedule.job)) changes.job = body.job;
  if (specKey(body.spec) !== specKey(schedule.spec)) {
    const { startAt, endAt } = schedule.spec;
    changes.spec = { ...body.spec, ...(startAt ? { startAt } : {}), ...(endAt ? { endAt } : {}) };
  }
  const policy: Partial<SchedulePolicy> = {};
  const next = body.policy ?? {};
  if (next.overlap && next.overlap !== schedule.policy.overlap) policy.overlap = next.overlap;
  if (next.pauseOnFailure !== undefined && next.pauseOnFailure !== schedule.policy.pauseOnFailure)
    policy.pauseOnFailure = next.pauseOnFailure;
  if (next.catchupWindow && parseDuration(next.catchupWindow) !== parseDuration(schedule.policy.catchupWindow))
    policy.catchupWindow = next.catchupWindow;
  if (Object.keys(policy).length) changes.policy = policy;
  return changes;
}
