import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';

export interface LlmCall {
  id: string;
  tenantId: string;
  purpose: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: string;
  latencyMs: number;
  outcome: string;
  errorType?: string | null;
  workflowId?: string | null;
  runId?: string | null;
  activityId?: string | null;
  attempt?: number | null;
  createdAt: Opt<Date>;
}

export const LlmCallEntity = new EntitySchema<LlmCall>({
  name: 'LlmCall',
  tableName: 'llm_calls',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    purpose: { type: 'text' },
    provider: { type: 'text' },
    model: { type: 'text' },
    inputTokens: { type: 'integer', default: 0 },
    outputTokens: { type: 'integer', default: 0 },
    costUsd: { type: 'decimal', columnType: 'numeric(14,8)', default: 0 },
    latencyMs: { type: 'integer' },
    outcome: { type: 'text' },
    errorType: { type: 'text', nullable: true },
    workflowId: { type: 'text', nullable: true },
    runId: { type: 'text', nullable: true },
    activityId: { type: 'text', nullable: true },
    attempt: { type: 'integer', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string | null;
  /** Null for spans that belong to no tenant (process start-up, health checks). */
  tenantId?: string | null;
  name: string;
  kind: number;
  service: string;
  startTime: Date;
  endTime: Date;
  durationMs: number;
  statusCode: number;
  statusMessage?: string | null;
  attributes: Record<string, unknown>;
  events: unknown[];
  workflowId?: string | null;
  runId?: string | null;
}

export const SpanEntity = new EntitySchema<Span>({
  name: 'Span',
  tableName: 'spans',
  properties: {
    traceId: { type: 'text', primary: true },
    spanId: { type: 'text', primary: true },
    parentSpanId: { type: 'text', nullable: true },
    tenantId: { type: 'uuid', nullable: true },
    name: { type: 'text' },
    kind: { type: 'smallint' },
    service: { type: 'text' },
    startTime: { type: 'Date', columnType: 'timestamptz' },
    endTime: { type: 'Date', columnType: 'timestamptz' },
    durationMs: { type: 'double' },
    statusCode: { type: 'smallint' },
    statusMessage: { type: 'text', nullable: true },
    attributes: { type: 'json' },
    events: { type: 'json' },
    workflowId: { type: 'text', nullable: true },
    runId: { type: 'text', nullable: true },
  },
});
