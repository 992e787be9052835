import { createHash } from 'node:crypto';
import type { McpToolDefinition } from '../db/entities/mcp';

/**
 * JSON with object keys sorted at every depth and no whitespace (the shape of RFC 8785 for the values MCP tool
 * definitions hold), so the same definition always hashes the same whatever order a server lists its keys in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The pinned part of a tool as a server lists it: name, description, input schema (what the model is shown). */
export function toolDefinition(tool: {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}): McpToolDefinition {
  return {
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    inputSchema: tool.inputSchema,
  };
}

/** sha256 (hex) over the canonical JSON of a tool definition. */
export function definitionHash(def: McpToolDefinition): string {
  return createHash('sha256')
    .update(canonicalJson(toolDefinition(def)))
    .digest('hex');
}
