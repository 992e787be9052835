import { EntitySchema, type Opt } from '@mikro-orm/core';

/** An eval run (issue 19): a configuration answered over a dataset version (workflows/eval.ts). */
export interface EvalRunRow {
  id: string;
  tenantId: string;
  name: string;
  datasetId: string;
  datasetName: Opt<string>;
  datasetVersion?: number | null;
  config: Record<string, unknown>;
  /** The prompt versions used (lib/contracts PromptRef[]). */
  prompts: Opt<unknown[]>;
  status: Opt<'running' | 'completed' | 'failed' | 'canceled'>;
  itemCount?: number | null;
  aggregate?: Record<string, unknown> | null;
  error?: string | null;
  workflowId: string;
  scheduleId?: string | null;
  createdBy: string;
  createdAt: Opt<Date>;
  completedAt?: Date | null;
}

export const EvalRunEntity = new EntitySchema<EvalRunRow>({
  name: 'EvalRun',
  tableName: 'eval_runs',
  properties: {
    id: { type: 'uuid', primary: true },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    datasetId: { type: 'uuid' },
    datasetName: { type: 'text', default: '' },
    datasetVersion: { type: 'integer', nullable: true },
    config: { type: 'json', columnType: 'jsonb' },
    prompts: { type: 'json', columnType: 'jsonb', default: '[]' },
    status: { type: 'text', default: 'running' },
    itemCount: { type: 'integer', nullable: true },
    aggregate: { type: 'json', columnType: 'jsonb', nullable: true },
    error: { type: 'text', nullable: true },
    workflowId: { type: 'text', unique: true },
    scheduleId: { type: 'text', nullable: true },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

/** One item of an eval run: its answer run and scores (lib/contracts EvalItemResult). */
export interface EvalResultRow {
  tenantId: string;
  evalRunId: string;
  idx: number;
  itemId: string;
  question: string;
  status: 'running' | 'completed' | 'failed';
  answerId?: string | null;
  workflowId?: string | null;
  answerStatus?: string | null;
  verdicts?: Record<string, number> | null;
  metrics?: Record<string, unknown> | null;
  error?: string | null;
  updatedAt: Opt<Date>;
}

export const EvalResultEntity = new EntitySchema<EvalResultRow>({
  name: 'EvalResult',
  tableName: 'eval_results',
  properties: {
    tenantId: { type: 'uuid' },
    evalRunId: { type: 'uuid', primary: true },
    idx: { type: 'integer', primary: true },
    itemId: { type: 'text' },
    question: { type: 'text' },
    status: { type: 'text' },
    answerId: { type: 'uuid', nullable: true },
    workflowId: { type: 'text', nullable: true },
    answerStatus: { type: 'text', nullable: true },
    verdicts: { type: 'json', columnType: 'jsonb', nullable: true },
    metrics: { type: 'json', columnType: 'jsonb', nullable: true },
    error: { type: 'text', nullable: true },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

/** Two or more eval runs compared against a baseline (api/evals). */
export interface ExperimentRow {
  id: string;
  tenantId: string;
  name: string;
  baselineRunId: string;
  runIds: string[];
  createdBy: string;
  createdAt: Opt<Date>;
}

export const ExperimentEntity = new EntitySchema<ExperimentRow>({
  name: 'Experiment',
  tableName: 'experiments',
  properties: {
    id: { type: 'uuid', primary: true },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    baselineRunId: { type: 'uuid' },
    runIds: { type: 'uuid[]', columnType: 'uuid[]' },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export const evalEntities = [EvalRunEntity, EvalResultEntity, ExperimentEntity];
