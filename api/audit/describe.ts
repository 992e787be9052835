import { MCP_TOOL_NAME } from '../../lib/contracts/audit';

/**
 * How a request is described in the audit log: pure functions of the method, the route's pattern, its parameters and
 * the few body fields that carry a decision. Bodies are never stored; only the fields named here, validated.
 */

const METHOD_VERBS: Record<string, string> = { POST: 'create', PUT: 'set', PATCH: 'update', DELETE: 'delete' };

/** `documents` names rows; `status`, `access` or `revoke` do not. */
const isPlural = (segment: string) => /[^su]s$/.test(segment);
const singular = (segment: string) => (isPlural(segment) ? segment.slice(0, -1) : segment);

const routeSegments = (route: string) => {
  const segments = route.split('/').filter(Boolean);
  return segments[0]?.toLowerCase() === 'v1' ? segments.slice(1) : segments;
};
const isParam = (segment: string) => segment.startsWith(':');

/**
 * The default action of a request, from its method and route pattern:
 * - the static segments after `/v1`, parameters dropped, joined by dots, name the resource (`mcp.servers.tools`);
 * - a POST whose pattern ends in a static segment that is not a plural noun is an operation named by that segment:
 *   `POST /v1/keys/:id/revoke` → `keys.revoke`, `POST /v1/answers/:id/review` → `answers.review`,
 *   `POST /v1/search` → `search`;
 * - otherwise the method is the verb: POST `create`, PUT `set`, PATCH `update`, DELETE `delete`, anything else its
 *   name in lower case: `POST /v1/keys` → `keys.create`, `POST /v1/collections/:id/documents` →
 *   `collections.documents.create`, `PUT /v1/secrets/:name` → `secrets.set`, `DELETE /v1/documents/:id` →
 *   `documents.delete`, `GET /v1/audit` → `audit.get`.
 */
export function defaultAction(method: string, route: string): string {
  const segments = routeSegments(route);
  const names = segments.filter((s) => !isParam(s)).map((s) => s.replace(/[^A-Za-z0-9_-]/g, ''));
  const last = segments.at(-1);
  if (method === 'POST' && last && !isParam(last) && !isPlural(last)) return names.join('.');
  return [...names, METHOD_VERBS[method] ?? method.toLowerCase()].join('.');
}

const MAX_ID = 200;
const clip = (value: string) => (value.length > MAX_ID ? value.slice(0, MAX_ID) : value);

/**
 * The rows a request named: each path parameter under the singular of the segment before it
 * (`/v1/mcp/servers/:id/tools/:name/approve` → `{ server, tool }`), else under its own name.
 */
export function pathTargets(route: string, params: Record<string, string | undefined> | undefined) {
  const targets: Record<string, string> = {};
  const segments = routeSegments(route);
  segments.forEach((segment, i) => {
    if (!isParam(segment)) return;
    const name = segment.slice(1).replace(/[?*+]$/, '');
    const value = params?.[name];
    if (typeof value !== 'string' || !value) return;
    const before = segments[i - 1];
    const key = before && !isParam(before) ? singular(before) : name;
    targets[key in targets ? name : key] = clip(value);
  });
  return targets;
}

/**
 * The row a 201 created, from the response's `id`: under the singular of the collection it was created in
 * (`POST /v1/keys` → `key`), else `created` (a rotation's new key).
 */
export function createdTarget(route: string, body: unknown, taken: Record<string, string>) {
  const id = (body as { id?: unknown } | null | undefined)?.id;
  if (typeof id !== 'string' || !id || id.length > MAX_ID) return {};
  const last = routeSegments(route).at(-1);
  const key = last && !isParam(last) && isPlural(last) && !(singular(last) in taken) ? singular(last) : 'created';
  return { [key]: id };
}

/**
 * The decision of a review or approval, read from the fields of its body that carry it (never the free-text note or
 * reason): answer reviews, agent tool-call approvals, MCP tool approval and disabling.
 */
export function decision(
  route: string,
  body: unknown,
): { detail: Record<string, unknown>; targets: Record<string, string> } | null {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  switch (route) {
    case '/v1/answers/:id/review':
      return b.decision === 'approve' || b.decision === 'reject'
        ? { detail: { decision: b.decision }, targets: {} }
        : null;
    case '/v1/agents/runs/:id/approvals':
      if (typeof b.approve !== 'boolean') return null;
      return {
        detail: { decision: b.approve ? 'approve' : 'reject' },
        targets: typeof b.callId === 'string' && b.callId ? { toolCall: clip(b.callId) } : {},
      };
    case '/v1/mcp/servers/:id/tools/:name/approve':
      return {
        detail: {
          decision: 'approve',
          ...(typeof b.definitionHash === 'string' && /^[0-9a-f]{64}$/.test(b.definitionHash)
            ? { definitionHash: b.definitionHash }
            : {}),
          ...(typeof b.sensitive === 'boolean' ? { sensitive: b.sensitive } : {}),
        },
        targets: {},
      };
    case '/v1/mcp/servers/:id/tools/:name/disable':
      return { detail: { decision: 'disable' }, targets: {} };
    default:
      return null;
  }
}

const RPC_METHOD = /^[a-z][A-Za-z0-9_/]{0,63}$/;

/**
 * What a POST to `/mcp` asks, from its JSON-RPC message (or batch): the first method, and the tool of the first
 * `tools/call`. Arguments are never read.
 */
export function mcpRequest(body: unknown): { rpcMethod: string | null; tool: string | null } {
  const messages = (Array.isArray(body) ? body : [body]) as Array<{ method?: unknown; params?: { name?: unknown } }>;
  let rpcMethod: string | null = null;
  let tool: string | null = null;
  for (const m of messages) {
    if (!m || typeof m !== 'object' || typeof m.method !== 'string' || !RPC_METHOD.test(m.method)) continue;
    rpcMethod ??= m.method;
    const name = m.params?.name;
    if (m.method === 'tools/call' && !tool && typeof name === 'string' && MCP_TOOL_NAME.test(name)) {
      rpcMethod = m.method;
      tool = name;
    }
  }
  return { rpcMethod, tool };
}

const SECRET_NAME = /(password|passwd|secret|token|cookie|authorization|credentials?|api_?key)$|^key$/i;
const API_KEY_VALUE = /bc_[A-Za-z0-9_-]{16,}/g;

/**
 * A handler's detail, made safe to keep: fields named like secrets are dropped, anything shaped like an API key is
 * cut to its prefix, and an oversized detail is replaced by a marker.
 */
export function safeDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const scrub = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return value.replace(API_KEY_VALUE, (k) => `${k.slice(0, 10)}…`);
    if (!value || typeof value !== 'object' || depth > 4) return typeof value === 'object' && value ? '…' : value;
    if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrub(v, depth + 1));
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !SECRET_NAME.test(k))
        .map(([k, v]) => [k, scrub(v, depth + 1)]),
    );
  };
  const safe = scrub(detail, 0) as Record<string, unknown>;
  return JSON.stringify(safe).length > 4000 ? { truncated: true } : safe;
}

/** A path no route matched, for the entry's detail: clipped, anything shaped like an API key cut to its prefix. */
export const unmatchedPath = (path: string) => clip(path.replace(API_KEY_VALUE, (k) => `${k.slice(0, 10)}…`));
