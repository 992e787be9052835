/**
 * What a handler tells the audit log beyond what the request itself shows. The audit middleware reads
 * `ctx.state.audit` after the handler ran (or threw) and writes one entry per audited request.
 */
export interface AuditNote {
  /** A dotted action name such as `session.login` or `key.create`; by default derived from the method and route. */
  action?: string;
  /** Ids of what the request acted on beyond the path's own parameters (for example a created key's id). */
  targets?: Record<string, string>;
  /** For a request that has no principal (a sign-in): the tenant and the actor it was for, when known. */
  tenantId?: string;
  actorType?: 'user' | 'key' | 'anonymous';
  actorId?: string | null;
  actorLabel?: string;
  /** By default from the status: 2xx/3xx success, 401/403 denied, anything else failure. */
  outcome?: 'success' | 'failure' | 'denied';
  /** Small, non-secret facts (a role given, a reason refused); never a password, token or key. */
  detail?: Record<string, unknown>;
}
