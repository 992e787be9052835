/**
 * Saved agents as the console reads them (api/routes/saved-agents.ts): named agent definitions, created, changed,
 * deleted and run by id. A run is a normal agent run (`/agents/runs/:workflowId`).
 */
import type { AgentBudgets } from '../../../lib/contracts';
import type { AgentStarted } from './agents';
import { request } from './request';

/** api/agents/saved.ts SavedAgentView: the definition's fields beside the name, as it was saved. */
export interface SavedAgent {
  id: string;
  name: string;
  description: string | null;
  instructions?: string;
  tools: string[];
  collectionIds?: string[];
  budgets: Partial<AgentBudgets>;
  approvalTimeoutMs: number;
  turnsPerRun: number;
  model?: string;
  temperature?: number;
  prompt?: number | string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewSavedAgent {
  name: string;
  description?: string;
  instructions?: string;
  tools: string[];
  collectionIds?: string[];
  model?: string;
}

/** The fields given replace the saved ones; `null` clears an optional one. */
export interface SavedAgentPatch {
  name?: string;
  description?: string | null;
  instructions?: string | null;
  tools?: string[];
  collectionIds?: string[] | null;
  model?: string | null;
}

const agentPath = (id: string) => `/v1/agents/saved/${encodeURIComponent(id)}`;

export function listSavedAgents(signal?: AbortSignal): Promise<{ agents: SavedAgent[] }> {
  return request<{ agents: SavedAgent[] }>('/v1/agents/saved', { signal });
}

export function createSavedAgent(body: NewSavedAgent): Promise<SavedAgent> {
  return request<SavedAgent>('/v1/agents/saved', { method: 'POST', body });
}

export function updateSavedAgent(id: string, patch: SavedAgentPatch): Promise<SavedAgent> {
  return request<SavedAgent>(agentPath(id), { method: 'PATCH', body: patch });
}

export function deleteSavedAgent(id: string): Promise<void> {
  return request<void>(agentPath(id), { method: 'DELETE' });
}

/** Starts a run of the agent for a goal; 202 with its workflow id at once. */
export function runSavedAgent(id: string, goal: string): Promise<AgentStarted> {
  return request<AgentStarted>(`${agentPath(id)}/runs`, { method: 'POST', body: { goal } });
}
