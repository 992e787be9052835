import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';

export type McpTransportKind = 'http' | 'stdio';

/** A registered MCP server: streamable HTTP by URL, or stdio by a name from the admin allow-list (never a command). */
export interface McpServerRow {
  id: string;
  tenantId: string;
  name: string;
  transport: McpTransportKind;
  url?: string | null;
  stdioName?: string | null;
  /** Header values are literals or the tenant's own secret references (secret:<name>), resolved when connecting. */
  headers: Opt<Record<string, string>>;
  /** A tenant secret reference (secret:<name>) for `Authorization: Bearer`; the token itself is never stored here. */
  bearerSecret?: string | null;
  enabled: Opt<boolean>;
  lastDiscoveredAt?: Date | null;
  lastError?: string | null;
  createdAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const McpServerEntity = new EntitySchema<McpServerRow>({
  name: 'McpServer',
  tableName: 'mcp_servers',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    transport: { type: 'text' },
    url: { type: 'text', nullable: true },
    stdioName: { type: 'text', nullable: true },
    headers: { type: 'json', default: '{}' },
    bearerSecret: { type: 'text', nullable: true },
    enabled: { type: 'boolean', default: true },
    lastDiscoveredAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    lastError: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

/** What is pinned of a tool: exactly what the model is shown and what the server validates against. */
export interface McpToolDefinition {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

export type McpToolStatus = 'pending' | 'approved' | 'changed' | 'disabled' | 'removed';

export interface McpToolRow {
  id: string;
  tenantId: string;
  serverId: string;
  name: string;
  definition: McpToolDefinition;
  definitionHash: string;
  approvedDefinition?: McpToolDefinition | null;
  approvedHash?: string | null;
  status: Opt<McpToolStatus>;
  /** Calls wait for a person's approval (the agent workflow's `approveToolCall` update). */
  sensitive: Opt<boolean>;
  /** A call interrupted by a crash may be made again; otherwise the model is told its outcome is unknown. */
  idempotent: Opt<boolean>;
  timeoutMs?: number | null;
  maxAttempts: Opt<number>;
  approvedBy?: string | null;
  approvedAt?: Date | null;
  discoveredAt: Opt<Date>;
  updatedAt: Opt<Date>;
}

export const McpToolEntity = new EntitySchema<McpToolRow>({
  name: 'McpTool',
  tableName: 'mcp_tools',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    serverId: { type: 'uuid' },
    name: { type: 'text' },
    definition: { type: 'json' },
    definitionHash: { type: 'text' },
    approvedDefinition: { type: 'json', nullable: true },
    approvedHash: { type: 'text', nullable: true },
    status: { type: 'text', default: 'pending' },
    sensitive: { type: 'boolean', default: true },
    idempotent: { type: 'boolean', default: false },
    timeoutMs: { type: 'integer', nullable: true },
    maxAttempts: { type: 'integer', default: 3 },
    approvedBy: { type: 'text', nullable: true },
    approvedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    discoveredAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export type AgentToolCallStatus = 'started' | 'completed' | 'error';

/** One tool call of an agent run, keyed by (workflow id, call key): the guard against repeating a side effect. */
export interface AgentToolCallRow {
  id: string;
  tenantId: string;
  workflowId: string;
  callKey: string;
  serverId: string;
  toolName: string;
  arguments: Record<string, unknown>;
  status: AgentToolCallStatus;
  attempt: number;
  result?: unknown;
  error?: string | null;
  startedAt: Opt<Date>;
  completedAt?: Date | null;
}

export const AgentToolCallEntity = new EntitySchema<AgentToolCallRow>({
  name: 'AgentToolCall',
  tableName: 'agent_tool_calls',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    workflowId: { type: 'text' },
    callKey: { type: 'text' },
    serverId: { type: 'uuid' },
    toolName: { type: 'text' },
    arguments: { type: 'json', default: '{}' },
    status: { type: 'text' },
    attempt: { type: 'integer' },
    result: { type: 'json', nullable: true },
    error: { type: 'text', nullable: true },
    startedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

export const mcpEntities = [McpServerEntity, McpToolEntity, AgentToolCallEntity];
