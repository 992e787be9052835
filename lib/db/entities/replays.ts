import { EntitySchema, type Opt } from '@mikro-orm/core';

/** A counterfactual replay of past answers (issue 19, workflows/replay.ts): the setup, the answers, the outcome. */
export interface ReplayRow {
  id: string;
  tenantId: string;
  name: string;
  mode: 'generation' | 'retrieval';
  /** lib/contracts ReplaySetup, with the prompt selection as asked (`selection`) beside the resolved prompts. */
  setup: Record<string, unknown>;
  answerIds: string[];
  status: Opt<'running' | 'completed' | 'failed' | 'canceled'>;
  /** lib/evals/replay-diff ReplaySummary, once the replay ends. */
  summary?: Record<string, unknown> | null;
  error?: string | null;
  workflowId: string;
  createdBy: string;
  createdAt: Opt<Date>;
  completedAt?: Date | null;
}

export const ReplayEntity = new EntitySchema<ReplayRow>({
  name: 'Replay',
  tableName: 'replays',
  properties: {
    id: { type: 'uuid', primary: true },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    mode: { type: 'text' },
    setup: { type: 'json', columnType: 'jsonb' },
    answerIds: { type: 'json', columnType: 'jsonb' },
    status: { type: 'text', default: 'running' },
    summary: { type: 'json', columnType: 'jsonb', nullable: true },
    error: { type: 'text', nullable: true },
    workflowId: { type: 'text', unique: true },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

/** One replayed answer: lib/contracts ReplayItemResult plus where its passages came from (`source`). */
export interface ReplayItemRow {
  tenantId: string;
  replayId: string;
  idx: number;
  answerId: string;
  status: 'completed' | 'failed';
  result: Record<string, unknown>;
  updatedAt: Opt<Date>;
}

export const ReplayItemEntity = new EntitySchema<ReplayItemRow>({
  name: 'ReplayItem',
  tableName: 'replay_items',
  properties: {
    tenantId: { type: 'uuid' },
    replayId: { type: 'uuid', primary: true },
    idx: { type: 'integer', primary: true },
    answerId: { type: 'uuid' },
    status: { type: 'text' },
    result: { type: 'json', columnType: 'jsonb' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export const replayEntities = [ReplayEntity, ReplayItemEntity];
