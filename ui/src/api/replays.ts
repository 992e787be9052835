/**
 * The replays API the console uses: counterfactual replays of past answers with a new model, prompt or retrieval
 * setup, and their per-answer comparisons. Shapes mirror api/replays/service.ts; an item is lib/contracts'
 * ReplayItemResult.
 */
import type { PromptSelection, ReplayItemResult, ReplayMode } from '../../../lib/contracts/evals';
import { request } from './request';

export type { ClaimChange, ReplayItemResult, ReplayMode } from '../../../lib/contracts/evals';

/** lib/evals/replay-diff.ts ReplaySummary. */
export interface ReplaySummary {
  items: number;
  completed: number;
  failed: number;
  claims: { added: number; removed: number; verdictChanged: number };
  citations: { added: number; removed: number };
  delta: { costUsd: number; latencyMs: number; groundingScore: number | null };
  statusChanged: Array<{ answerId: string; before: string; after: string }>;
}

export interface ReplaySetupRequest {
  model?: string;
  prompts?: PromptSelection;
  groundingThreshold?: number;
  groundingMethod?: 'auto' | 'llm' | 'deterministic';
  topK?: number;
  collectionIds?: string[];
  maxContextTokens?: number;
  rerank?: boolean;
}

export interface ReplayView {
  id: string;
  name: string;
  mode: ReplayMode;
  setup: Record<string, unknown>;
  answerIds: string[];
  status: 'running' | 'completed' | 'failed' | 'canceled';
  workflowId: string;
  progress: { total: number; done: number; completed: number; failed: number };
  summary: ReplaySummary | null;
  error: string | null;
  createdBy: string;
  createdAt: string;
  completedAt: string | null;
}

export interface NewReplay {
  name?: string;
  mode: ReplayMode;
  answerIds?: string[];
  filter?: { status?: 'answered' | 'abstained'; since?: string; until?: string; limit?: number };
  datasetId?: string;
  setup: ReplaySetupRequest;
  concurrency?: number;
}

const replayPath = (id: string) => `/v1/replays/${encodeURIComponent(id)}`;

export const listReplays = (signal?: AbortSignal) => request<{ replays: ReplayView[] }>('/v1/replays', { signal });

export const getReplay = (id: string, signal?: AbortSignal) => request<ReplayView>(replayPath(id), { signal });

export const startReplay = (body: NewReplay) =>
  request<{ id: string; workflowId: string }>('/v1/replays', { method: 'POST', body });

export const listReplayItems = (id: string, query: { offset?: number; limit?: number } = {}, signal?: AbortSignal) =>
  request<{ items: ReplayItemResult[]; offset: number; limit: number; total: number }>(`${replayPath(id)}/items`, {
    query,
    signal,
  });
