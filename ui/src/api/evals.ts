/**
 * The evaluations API the console's Evals pages use: eval runs (a configuration answered over a dataset version, each
 * item a real answer run) and experiments comparing them. Shapes mirror api/evals/service.ts; the metric shapes come
 * from lib/contracts/evals.ts by type.
 */
import type {
  EvalAggregate,
  EvalConfig,
  EvalItemMetrics,
  EvalItemResult,
  ItemChange,
  MetricComparison,
  PromptRef,
} from '../../../lib/contracts/evals';
import { request } from './request';

export type {
  EvalAggregate,
  EvalConfig,
  EvalItemMetrics,
  EvalMetric,
  ItemChange,
  MetricComparison,
  PromptName,
  PromptSelection,
} from '../../../lib/contracts/evals';

export type EvalRunStatus = 'running' | 'completed' | 'canceled' | 'failed';

export interface EvalRunView {
  id: string;
  name: string;
  workflowId: string;
  status: EvalRunStatus;
  dataset: { id: string; name: string; version: number | null };
  config: EvalConfig;
  /** The prompt versions the run resolved when it began (empty until then). */
  prompts: PromptRef[];
  itemCount: number | null;
  /** Only on a single run's read. */
  progress?: { completed: number; failed: number; running: number };
  aggregate: EvalAggregate | null;
  error: string | null;
  scheduleId: string | null;
  createdBy: string;
  createdAt: string;
  completedAt: string | null;
}

export interface EvalItemView extends Omit<EvalItemResult, 'status' | 'metrics'> {
  status: 'running' | 'completed' | 'failed';
  question: string;
  metrics: (EvalItemMetrics & { correctnessReason?: string }) | null;
  updatedAt: string;
}

export interface NewEvalRun {
  name?: string;
  datasetId: string;
  datasetVersion?: number;
  config: EvalConfig;
  concurrency?: number;
}

export interface ExperimentSummary {
  id: string;
  name: string;
  baselineRunId: string;
  evalRunIds: string[];
  createdBy: string;
  createdAt: string;
}

export interface ExperimentComparison {
  evalRunId: string;
  pairs: number;
  unpaired: { baseline: number; candidate: number };
  metrics: MetricComparison[];
  changed: ItemChange[];
}

export interface ExperimentView extends ExperimentSummary {
  /** Runs deleted since the experiment was made. */
  missingRunIds: string[];
  runs: EvalRunView[];
  comparisons: ExperimentComparison[];
}

const evalPath = (id: string) => `/v1/evals/${encodeURIComponent(id)}`;
const experimentPath = (id: string) => `/v1/experiments/${encodeURIComponent(id)}`;

export const listEvalRuns = (query: { datasetId?: string; limit?: number } = {}, signal?: AbortSignal) =>
  request<{ evalRuns: EvalRunView[] }>('/v1/evals', { query, signal });

export const getEvalRun = (id: string, signal?: AbortSignal) => request<EvalRunView>(evalPath(id), { signal });

export const startEvalRun = (body: NewEvalRun) => request<EvalRunView>('/v1/evals', { method: 'POST', body });

export const listEvalItems = (
  id: string,
  query: { offset?: number; limit?: number; status?: EvalItemView['status'] } = {},
  signal?: AbortSignal,
) => request<{ items: EvalItemView[] }>(`${evalPath(id)}/items`, { query, signal });

export const cancelEvalRun = (id: string) => request<EvalRunView>(`${evalPath(id)}/cancel`, { method: 'POST' });

export const listExperiments = (signal?: AbortSignal) =>
  request<{ experiments: ExperimentSummary[] }>('/v1/experiments', { signal });

/** Answers the experiment as computed at once (like `getExperiment`). */
export const createExperiment = (body: { name?: string; evalRunIds: string[]; baselineRunId?: string }) =>
  request<ExperimentView>('/v1/experiments', { method: 'POST', body });

export const getExperiment = (id: string, signal?: AbortSignal) =>
  request<ExperimentView>(experimentPath(id), { signal });

export const deleteExperiment = (id: string) => request<void>(experimentPath(id), { method: 'DELETE' });
