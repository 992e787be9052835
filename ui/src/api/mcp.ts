/**
 * The MCP server registry as the console reads it (api/mcp/service.ts): servers, their pinned tools, approval and
 * discovery. Tool definitions are the shapes lib/db pins (name, description, input schema).
 */
import { request } from './request';

export type McpTransport = 'http' | 'stdio';
export type McpToolStatus = 'pending' | 'approved' | 'changed' | 'disabled' | 'removed';

export interface McpServer {
  id: string;
  name: string;
  transport: McpTransport;
  url: string | null;
  stdioName: string | null;
  headerNames: string[];
  bearerSecret: string | null;
  enabled: boolean;
  lastDiscoveredAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What is pinned of a tool: exactly what the model is shown. */
export interface McpToolDefinition {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

export interface McpTool {
  name: string;
  status: McpToolStatus;
  description: string | null;
  inputSchema: Record<string, unknown>;
  definitionHash: string;
  approvedHash: string | null;
  /** What was approved, when the server has changed the tool since. */
  approvedDefinition?: McpToolDefinition | null;
  sensitive: boolean;
  idempotent: boolean;
  timeoutMs: number | null;
  maxAttempts: number;
  approvedBy: string | null;
  approvedAt: string | null;
  discoveredAt: string;
}

export type NewMcpServer =
  | { transport: 'http'; name: string; url: string; headers?: Record<string, string>; bearerSecret?: string }
  | { transport: 'stdio'; name: string; stdioName: string };

/** What a discovery changed (lib/mcp/registry.ts SyncSummary), or why it failed (at registration only). */
export interface Discovery {
  added?: string[];
  changed?: string[];
  removed?: string[];
  unchanged?: string[];
  error?: { code: string; message: string };
}

export interface ToolApproval {
  definitionHash: string;
  sensitive: boolean;
  idempotent: boolean;
  timeoutMs: number | null;
  maxAttempts: number;
}

const serverPath = (id: string) => `/v1/mcp/servers/${encodeURIComponent(id)}`;

export function listServers(signal?: AbortSignal): Promise<{ servers: McpServer[] }> {
  return request<{ servers: McpServer[] }>('/v1/mcp/servers', { signal });
}

export function getServer(id: string, signal?: AbortSignal): Promise<{ server: McpServer; tools: McpTool[] }> {
  return request<{ server: McpServer; tools: McpTool[] }>(serverPath(id), { signal });
}

/** Registers and (by default) discovers at once; a failed discovery still registers the server. */
export function registerServer(
  body: NewMcpServer,
): Promise<{ server: McpServer; discovery: Discovery | null; tools: McpTool[] }> {
  return request('/v1/mcp/servers', { method: 'POST', body, timeoutMs: 60_000 });
}

export function updateServer(
  id: string,
  patch: { enabled?: boolean; url?: string; headers?: Record<string, string>; bearerSecret?: string | null },
): Promise<{ server: McpServer }> {
  return request<{ server: McpServer }>(serverPath(id), { method: 'PATCH', body: patch });
}

export function deleteServer(id: string): Promise<void> {
  return request<void>(serverPath(id), { method: 'DELETE' });
}

export function discoverServer(id: string): Promise<{ discovery: Discovery; tools: McpTool[] }> {
  return request(`${serverPath(id)}/discover`, { method: 'POST', body: {}, timeoutMs: 60_000 });
}

export function approveTool(serverId: string, name: string, approval: ToolApproval): Promise<{ tool: McpTool }> {
  return request<{ tool: McpTool }>(`${serverPath(serverId)}/tools/${encodeURIComponent(name)}/approve`, {
    method: 'POST',
    body: approval,
  });
}

export function disableTool(serverId: string, name: string): Promise<{ tool: McpTool }> {
  return request<{ tool: McpTool }>(`${serverPath(serverId)}/tools/${encodeURIComponent(name)}/disable`, {
    method: 'POST',
    body: {},
  });
}

export interface SecretName {
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** The tenant's secret names (never values): what a `secret:<name>` reference may point at. */
export function listSecrets(signal?: AbortSignal): Promise<{ secrets: SecretName[] }> {
  return request<{ secrets: SecretName[] }>('/v1/secrets', { signal });
}
