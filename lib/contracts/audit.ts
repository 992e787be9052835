/** Who acted: a console user, an API key, or nobody known (a failed sign-in). */
export const AUDIT_ACTOR_TYPES = ['user', 'key', 'anonymous'] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];

/** How the request authenticated; `mcp` is a key used by a tool of BeyondCloud's MCP server. */
export const AUDIT_VIAS = ['key', 'session', 'mcp', 'none'] as const;
export type AuditVia = (typeof AUDIT_VIAS)[number];

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * The header the MCP server's tools send on their calls to the API, naming the tool. It is a label only (the actor
 * is still the caller's key), and only a value shaped like a tool name is recorded.
 */
export const MCP_TOOL_HEADER = 'x-bc-mcp-tool';
export const MCP_TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * What a handler tells the audit log beyond what the request itself shows. The audit middleware reads
 * `ctx.state.audit` after the handler ran (or threw) and writes one entry per audited request; a request whose
 * handler sets it is audited whatever its method (sign-ins, reads of the audit log).
 */
export interface AuditNote {
  /** A dotted action name such as `session.login` or `keys.create`; by default derived from the method and route. */
  action?: string;
  /** Ids of what the request acted on beyond the path's own parameters (for example a created key's id). */
  targets?: Record<string, string>;
  /** For a request that has no principal (a sign-in): the tenant and the actor it was for, when known. */
  tenantId?: string;
  actorType?: AuditActorType;
  actorId?: string | null;
  actorLabel?: string;
  /** By default from the status: 2xx/3xx success, 401/403 denied, anything else failure. */
  outcome?: AuditOutcome;
  /** Small, non-secret facts (a role given, a reason refused); never a password, token or key. */
  detail?: Record<string, unknown>;
}

/** One entry of the audit log as `GET /v1/audit` and its export return it. */
export interface AuditEntry {
  /** Increasing with time; a string because it is a 64-bit integer. */
  id: string;
  tenantId: string | null;
  at: string;
  actorType: AuditActorType;
  actorId: string | null;
  actorLabel: string | null;
  via: AuditVia;
  action: string;
  method: string;
  /** The route's pattern (`/v1/keys/:id/revoke`); null when no route matched. */
  route: string | null;
  /** The ids the request named (path parameters, a created row, the handler's targets), by what they are. */
  targets: Record<string, string>;
  status: number;
  outcome: AuditOutcome;
  ip: string | null;
  userAgent: string | null;
  traceId: string | null;
  mcpTool: string | null;
  detail: Record<string, unknown>;
}
