import { EntitySchema, type Opt } from '@mikro-orm/core';
import type { AgentBudgets } from '../../contracts';

/**
 * What a saved agent runs with: an agent start (api/agents/service.ts AgentStart) without its goal and id, defaults
 * filled in when it was saved. The API checks it against AgentStart at compile time, since this layer cannot import it.
 */
export interface SavedAgentConfig {
  instructions?: string;
  tools: string[];
  collectionIds?: string[];
  budgets: Partial<AgentBudgets>;
  approvalTimeoutMs: number;
  turnsPerRun: number;
  model?: string;
  temperature?: number;
  /** The agent prompt's version or label, resolved when each run starts. */
  prompt?: number | string;
}

/**
 * A named agent definition of a tenant (issue 20), run by id or served by name as the model `agent/<name>`. The name
 * is unique per tenant; everything a run needs but its goal is in `config`.
 */
export interface SavedAgent {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  config: SavedAgentConfig;
  /** Who saved it, as the audit log names actors. */
  createdBy: string;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const SavedAgentEntity = new EntitySchema<SavedAgent>({
  name: 'SavedAgent',
  tableName: 'saved_agents',
  properties: {
    id: { type: 'uuid', primary: true },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    description: { type: 'text', nullable: true },
    config: { type: 'json', columnType: 'jsonb' },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export const agentEntities = [SavedAgentEntity];
