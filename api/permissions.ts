import type { Role } from '../lib/db/entities';

/**
 * The permission model in one table: every route of the API and every tool of BeyondCloud's MCP server, with who may
 * call it. test/permissions.test.ts reads the routers' own stacks and fails on a route without an entry, an entry
 * without a route, or a `requireRole` guard whose roles differ from the entry; it then calls every route with every
 * role and with another tenant's ids (the BOLA matrix). The OpenAPI document and the README table are generated
 * from it.
 *
 * Order of the checks on every route: authentication (401), then the role (403, before any lookup, so a refused
 * role learns nothing about an id), then the lookup in the caller's tenant (404 for a foreign id exactly as for a
 * missing one).
 */

/** What a path parameter names, so the matrix can make one in each tenant and the document can type it. */
export const PARAM_KINDS = {
  collection: { tenantScoped: true, format: 'uuid', what: 'a collection id' },
  document: { tenantScoped: true, format: 'uuid', what: 'a document id' },
  ingestRun: { tenantScoped: true, format: 'workflowId', what: 'an ingest run id (`ingest:<tenant>:…`)' },
  answer: { tenantScoped: true, format: 'uuid', what: 'an answer id' },
  conversation: { tenantScoped: true, format: 'uuid', what: 'a conversation id' },
  run: { tenantScoped: true, format: 'workflowId', what: 'a run id (workflow id)' },
  selfTestRun: { tenantScoped: true, format: 'workflowId', what: 'a self-test run id (`self-test:<tenant>:…`)' },
  agentRun: { tenantScoped: true, format: 'workflowId', what: 'an agent run id (`agent:<tenant>:…`)' },
  mcpServer: { tenantScoped: true, format: 'uuid', what: 'an MCP server id' },
  mcpTool: { tenantScoped: true, format: 'name', what: 'a tool name of that MCP server' },
  secret: { tenantScoped: true, format: 'secretName', what: 'the name of one of the tenant’s secrets' },
  newSecret: {
    tenantScoped: false,
    format: 'secretName',
    what: 'a secret name in the caller’s own namespace (created if new)',
  },
  key: { tenantScoped: true, format: 'uuid', what: 'an API key id' },
  user: { tenantScoped: true, format: 'uuid', what: 'a member’s user id' },
  invitation: { tenantScoped: true, format: 'uuid', what: 'an invitation id' },
  session: { tenantScoped: true, format: 'uuid', what: 'one of the caller’s session ids' },
  tenant: { tenantScoped: false, format: 'uuid', what: 'a tenant id (platform admins reach every tenant)' },
  source: { tenantScoped: true, format: 'uuid', what: 'a source id of that collection' },
  schedule: { tenantScoped: true, format: 'uuid', what: 'a schedule id' },
  prompt: {
    tenantScoped: false,
    format: 'name',
    what: 'a prompt name (`answer`, `answer_strict`, `rewrite`, `rerank`, `judge`, `agent`)',
  },
  dataset: { tenantScoped: true, format: 'uuid', what: 'a dataset id' },
  evalRun: { tenantScoped: true, format: 'uuid', what: 'an eval run id' },
  experiment: { tenantScoped: true, format: 'uuid', what: 'an experiment id' },
  replay: { tenantScoped: true, format: 'uuid', what: 'a replay id' },
  savedAgent: { tenantScoped: true, format: 'uuid', what: 'a saved agent id' },
  upload: {
    tenantScoped: true,
    format: 'name',
    what: 'an upload id chosen by the client (1–64 letters, digits, `-`, `_`) and sent as `?upload=` with its files',
  },
  openaiModel: {
    tenantScoped: true,
    format: 'name',
    what: 'a model of `GET /v1/openai/models`, URL-encoded (`rag%2Fdocs`)',
  },
} as const satisfies Record<
  string,
  { tenantScoped: boolean; format: 'uuid' | 'workflowId' | 'name' | 'secretName'; what: string }
>;
export type ParamKind = keyof typeof PARAM_KINDS;

export interface RouteRule {
  /** One line for the README and the OpenAPI summary. */
  summary: string;
  /** Reached without a key or session. */
  public: boolean;
  /** The roles allowed (none for a public route). */
  roles: readonly Role[];
  /** Only an admin of the platform tenant (the one made at first start). */
  platformAdmin: boolean;
  /** Every path parameter and what it names. */
  params: Readonly<Record<string, ParamKind>>;
  /** About the caller's own console session: an API key has none and gets 400 `session_required`. */
  session: boolean;
}

export const ALL_ROLES = ['admin', 'operator', 'viewer'] as const satisfies readonly Role[];
const WRITE_ROLES = ['admin', 'operator'] as const satisfies readonly Role[];
const ADMIN_ROLES = ['admin'] as const satisfies readonly Role[];

type Params = Record<string, ParamKind>;
const rule = (summary: string, roles: readonly Role[], params: Params = {}, more: Partial<RouteRule> = {}) =>
  ({ summary, public: false, roles, platformAdmin: false, params, session: false, ...more }) satisfies RouteRule;

/** Reached without a key or session. */
const open = (summary: string, params: Params = {}) => rule(summary, [], params, { public: true });
/** Every role of the tenant: viewers read. */
const read = (summary: string, params: Params = {}) => rule(summary, ALL_ROLES, params);
/** Operators and admins: runs and content. */
const operate = (summary: string, params: Params = {}) => rule(summary, WRITE_ROLES, params);
/** Admins: configuration and keys. */
const admin = (summary: string, params: Params = {}) => rule(summary, ADMIN_ROLES, params);
/** Every role, signed in to the console: the caller's own session, password and sessions. */
const session = (summary: string, params: Params = {}) => rule(summary, ALL_ROLES, params, { session: true });
/** Admins of the platform tenant: tenants and their limits. */
const platform = (summary: string, params: Params = {}) => rule(summary, ADMIN_ROLES, params, { platformAdmin: true });

/** `METHOD /path` (koa's path syntax; `ALL` for a route of every method) → who may call it. */
export const PERMISSIONS: Record<string, RouteRule> = {
  'GET /healthz': open('The process is up'),
  'GET /readyz': open('Temporal, the database and the migrations are usable'),
  'GET /v1/openapi.json': open('This API’s OpenAPI 3.1 document'),
  'GET /v1/docs': open('The API reference page'),

  'GET /v1/auth/providers': open('The sign-in options (password, single sign-on)'),
  'POST /v1/auth/login': open('Sign in with email and password (sets the session and CSRF cookies)'),
  'POST /v1/auth/invitations/accept': open('Accept an invitation (and sign in)'),
  'GET /v1/auth/oidc/login': open('Single sign-on: off to the OpenID provider'),
  'GET /v1/auth/oidc/callback': open('Single sign-on: back from the OpenID provider'),
  'GET /v1/auth/session': session('The signed-in user, tenant, role and tenants'),
  'POST /v1/auth/logout': session('Sign out (ends this session)'),
  'POST /v1/auth/session/tenant': session('Switch to another tenant of the user'),
  'POST /v1/auth/password': session('Change the password (other sessions end)'),
  'GET /v1/auth/sessions': session('The user’s sessions'),
  'POST /v1/auth/sessions/:id/revoke': session('End one of the user’s sessions', { id: 'session' }),

  'GET /v1/tenants': platform('Every tenant'),
  'POST /v1/tenants': platform('Create a tenant (and its first admin)'),
  'GET /v1/tenants/:id': platform('One tenant', { id: 'tenant' }),
  'GET /v1/tenants/:id/quotas': platform('A tenant’s quotas and usage', { id: 'tenant' }),
  'PUT /v1/tenants/:id/quotas': platform('Set a tenant’s quotas', { id: 'tenant' }),
  'GET /v1/quotas': read('The tenant’s quotas and usage'),
  'GET /v1/settings': read('The tenant’s settings: default models, retention'),
  'PUT /v1/settings': admin('Set the tenant’s default models and retention'),
  'GET /v1/members': admin('The tenant’s members'),
  'POST /v1/members': admin('Add a member'),
  'PATCH /v1/members/:userId': admin('Change a member’s role', { userId: 'user' }),
  'DELETE /v1/members/:userId': admin('Remove a member', { userId: 'user' }),
  'GET /v1/invitations': admin('The tenant’s invitations'),
  'POST /v1/invitations': admin('Invite someone by email'),
  'POST /v1/invitations/:id/revoke': admin('Revoke an invitation', { id: 'invitation' }),
  'GET /v1/audit': admin('The tenant’s audit log, a page at a time'),
  'GET /v1/audit/export': admin('The audit log as JSON lines'),

  'GET /v1/system/me': read('The caller: tenant, role, key or user'),
  'POST /v1/system/self-test': operate('Start a self-test run'),
  'GET /v1/system/self-test/:id': read('A self-test run', { id: 'selfTestRun' }),

  'GET /v1/runs': read('The tenant’s runs'),
  'GET /v1/runs/:id': read('One run: status, input, result or failure', { id: 'run' }),
  'GET /v1/runs/:id/steps': read('A run’s activity timeline', { id: 'run' }),
  'GET /v1/runs/:id/trace': read('A run’s spans', { id: 'run' }),
  'GET /v1/runs/:id/children': read('A run’s child runs', { id: 'run' }),
  'POST /v1/runs/:id/cancel': operate('Cancel a run', { id: 'run' }),

  'GET /v1/usage/summary': read('Model tokens and cost, failed and retried attempts apart, error and retry rates'),
  'GET /v1/usage/timeseries': read('Tokens and cost over time, by model, run kind, key or purpose'),
  'GET /v1/usage/latency': read('Run durations per kind (p50, p95, histogram) and model-call latency per model'),

  'POST /v1/llm/completions': operate('One model call as a durable run'),

  'POST /v1/collections': operate('Create a collection'),
  'GET /v1/collections': read('The tenant’s collections'),
  'GET /v1/collections/:id': read('One collection', { id: 'collection' }),
  'DELETE /v1/collections/:id': operate('Delete a collection and its documents', { id: 'collection' }),
  'GET /v1/collections/:id/documents': read('A collection’s documents', { id: 'collection' }),
  'POST /v1/collections/:id/documents': operate('Upload files (multipart) to ingest', { id: 'collection' }),
  'POST /v1/collections/:id/urls': operate('Register URLs to ingest', { id: 'collection' }),
  'POST /v1/collections/:id/uploads/:upload/ingest': operate(
    'Start the one ingest run of an upload (its files and URLs sent with ?upload=)',
    { id: 'collection', upload: 'upload' },
  ),
  'POST /v1/collections/:id/folder': admin('Ingest a server folder (inside INGEST_FOLDER_ROOTS)', { id: 'collection' }),
  'POST /v1/collections/:id/reingest': operate('Re-ingest a collection', { id: 'collection' }),
  'GET /v1/collections/:id/stale-answers': read(
    'Answers citing the collection that a change made stale or unsupported',
    {
      id: 'collection',
    },
  ),
  'GET /v1/collections/:id/sources': read('A collection’s sources (URL lists, sitemaps, folders) and their last sync', {
    id: 'collection',
  }),
  'POST /v1/collections/:id/sources': operate('Attach a source to a collection (a folder source: admins)', {
    id: 'collection',
  }),
  'GET /v1/collections/:id/sources/:sourceId': read('One source and its last sync', {
    id: 'collection',
    sourceId: 'source',
  }),
  'PATCH /v1/collections/:id/sources/:sourceId': operate('Change a source', { id: 'collection', sourceId: 'source' }),
  'DELETE /v1/collections/:id/sources/:sourceId': operate('Detach a source (its documents too)', {
    id: 'collection',
    sourceId: 'source',
  }),
  'POST /v1/collections/:id/sources/:sourceId/sync': operate('Sync a source now (a batch run)', {
    id: 'collection',
    sourceId: 'source',
  }),
  'GET /v1/documents/:id': read('One document: status, chunk count, failure reason', { id: 'document' }),
  'GET /v1/documents/:id/chunks': read('A document’s chunks (heading path, page, text)', { id: 'document' }),
  'GET /v1/documents/:id/answers': read('The answers that cited a document', { id: 'document' }),
  'POST /v1/documents/:id/reingest': operate('Ingest one document again', { id: 'document' }),
  'DELETE /v1/documents/:id': operate('Delete a document', { id: 'document' }),
  'GET /v1/ingests/:workflowId': read('An ingest run’s progress', { workflowId: 'ingestRun' }),

  'POST /v1/answers': operate('Ask a question (a grounded answer run)'),
  'GET /v1/answers': read('The tenant’s answers'),
  'GET /v1/answers/:id': read('One answer', { id: 'answer' }),
  'GET /v1/answers/:id/events': read('An answer’s events (Server-Sent Events)', { id: 'answer' }),
  'POST /v1/answers/:id/review': operate('Approve or reject an answer held for review', { id: 'answer' }),
  'POST /v1/grounding': operate('Check an answer against contexts'),
  'POST /v1/search': operate('Hybrid search without generation'),
  'POST /v1/conversations': operate('Start a conversation'),
  'GET /v1/conversations': read('The tenant’s conversations'),
  'GET /v1/conversations/:id': read('A conversation and its messages', { id: 'conversation' }),
  'POST /v1/conversations/:id/messages': operate('A follow-up question', { id: 'conversation' }),

  'POST /v1/mcp/servers': admin('Register an MCP server'),
  'GET /v1/mcp/servers': read('The tenant’s MCP servers'),
  'GET /v1/mcp/servers/:id': read('One MCP server', { id: 'mcpServer' }),
  'PATCH /v1/mcp/servers/:id': admin('Change an MCP server', { id: 'mcpServer' }),
  'DELETE /v1/mcp/servers/:id': admin('Remove an MCP server', { id: 'mcpServer' }),
  'POST /v1/mcp/servers/:id/discover': admin('Discover an MCP server’s tools', { id: 'mcpServer' }),
  'GET /v1/mcp/servers/:id/tools': read('An MCP server’s tools and their approval', { id: 'mcpServer' }),
  'POST /v1/mcp/servers/:id/tools/:name/approve': admin('Approve a tool at its definition hash', {
    id: 'mcpServer',
    name: 'mcpTool',
  }),
  'POST /v1/mcp/servers/:id/tools/:name/disable': admin('Disable a tool', { id: 'mcpServer', name: 'mcpTool' }),

  'POST /v1/agents/runs': operate('Start an agent run'),
  'GET /v1/agents/approvals': read('Tool calls waiting for approval, across the tenant’s running agent runs'),
  'GET /v1/agents/runs/:id': read('An agent run’s live state', { id: 'agentRun' }),
  'GET /v1/agents/runs/:id/events': read('An agent run’s events (Server-Sent Events)', { id: 'agentRun' }),
  'POST /v1/agents/runs/:id/approvals': operate('Approve or refuse a sensitive tool call', { id: 'agentRun' }),
  'POST /v1/agents/runs/:id/cancel': operate('Cancel an agent run', { id: 'agentRun' }),

  'GET /v1/schedules': read('The tenant’s schedules with their next and last runs'),
  'POST /v1/schedules': operate('Create a schedule (a retention job: admins)'),
  'GET /v1/schedules/:id': read('One schedule: spec, policies, state, next and recent runs', { id: 'schedule' }),
  'PATCH /v1/schedules/:id': operate('Change a schedule', { id: 'schedule' }),
  'DELETE /v1/schedules/:id': operate('Delete a schedule (its runs stay)', { id: 'schedule' }),
  'POST /v1/schedules/:id/pause': operate('Pause a schedule, with a note', { id: 'schedule' }),
  'POST /v1/schedules/:id/unpause': operate('Unpause a schedule, with a note', { id: 'schedule' }),
  'POST /v1/schedules/:id/trigger': operate('Start the schedule’s job now', { id: 'schedule' }),
  'POST /v1/schedules/:id/backfill': operate('Run the schedule over a past time range', { id: 'schedule' }),
  'GET /v1/schedules/:id/runs': read('The runs a schedule started', { id: 'schedule' }),

  'GET /v1/prompts': read('Every prompt: its versions and labels'),
  'GET /v1/prompts/:name': read('One prompt: every version with its text and labels', { name: 'prompt' }),
  'POST /v1/prompts/:name/versions': operate('Add a version of a prompt', { name: 'prompt' }),
  'PUT /v1/prompts/:name/labels': operate('Point a label at a version, or remove it (`production`: admins)', {
    name: 'prompt',
  }),

  'GET /v1/datasets': read('The tenant’s datasets'),
  'POST /v1/datasets': operate('Create a dataset (version 1 from the items given)'),
  'POST /v1/datasets/from-answers': operate('Build a dataset (or its next version) from past answers'),
  'GET /v1/datasets/:id': read('One dataset and its versions', { id: 'dataset' }),
  'PATCH /v1/datasets/:id': operate('Rename a dataset or change its description', { id: 'dataset' }),
  'DELETE /v1/datasets/:id': operate('Delete a dataset (eval runs keep their results)', { id: 'dataset' }),
  'GET /v1/datasets/:id/items': read('A dataset version’s items, a page at a time', { id: 'dataset' }),
  'POST /v1/datasets/:id/versions': operate('A new version: items added, changed or removed', { id: 'dataset' }),
  'POST /v1/datasets/:id/import': operate('A new version from JSON lines or CSV', { id: 'dataset' }),
  'GET /v1/datasets/:id/export': read('A dataset version as JSON lines or CSV', { id: 'dataset' }),

  'GET /v1/evals': read('The tenant’s eval runs'),
  'POST /v1/evals': operate('Start an eval run: a configuration over a dataset version'),
  'GET /v1/evals/:id': read('One eval run: configuration, progress, aggregate metrics', { id: 'evalRun' }),
  'GET /v1/evals/:id/items': read('An eval run’s per-item results', { id: 'evalRun' }),
  'POST /v1/evals/:id/cancel': operate('Cancel an eval run', { id: 'evalRun' }),
  'GET /v1/experiments': read('The tenant’s experiments'),
  'POST /v1/experiments': operate('Compare two or more eval runs'),
  'GET /v1/experiments/:id': read('An experiment: metric deltas with intervals, wins and losses, changed verdicts', {
    id: 'experiment',
  }),
  'DELETE /v1/experiments/:id': operate('Delete an experiment (its eval runs stay)', { id: 'experiment' }),

  'GET /v1/replays': read('The tenant’s counterfactual replays'),
  'POST /v1/replays': operate('Replay past answers with a new model, prompt or retrieval setup'),
  'GET /v1/replays/:id': read('One replay: setup, progress, summary', { id: 'replay' }),
  'GET /v1/replays/:id/items': read('A replay’s per-answer comparisons', { id: 'replay' }),

  'GET /v1/agents/saved': read('The tenant’s saved agents'),
  'POST /v1/agents/saved': operate('Save an agent definition under a name (checked like a run start)'),
  'GET /v1/agents/saved/:id': read('One saved agent', { id: 'savedAgent' }),
  'PATCH /v1/agents/saved/:id': operate('Change a saved agent', { id: 'savedAgent' }),
  'DELETE /v1/agents/saved/:id': operate('Delete a saved agent (its runs stay)', { id: 'savedAgent' }),
  'POST /v1/agents/saved/:id/runs': operate('Start an agent run of a saved agent', { id: 'savedAgent' }),

  'GET /v1/openai/models': read('OpenAI-compatible: the tenant’s collections (and saved agents) as models'),
  'GET /v1/openai/models/:model': read('OpenAI-compatible: one model', { model: 'openaiModel' }),
  'POST /v1/openai/chat/completions': operate(
    'OpenAI-compatible chat completion: a grounded answer (or agent) run, streamed as OpenAI chunks if asked',
  ),
  'POST /v1/openai/embeddings': operate('OpenAI-compatible embeddings with a collection’s embedding model'),

  'GET /v1/secrets': read('The tenant’s secret names (never values)'),
  'PUT /v1/secrets/:name': admin('Set a secret', { name: 'newSecret' }),
  'DELETE /v1/secrets/:name': admin('Delete a secret', { name: 'secret' }),

  'GET /v1/keys': admin('The tenant’s API keys'),
  'POST /v1/keys': admin('Create an API key (shown once)'),
  'POST /v1/keys/:id/revoke': admin('Revoke an API key', { id: 'key' }),
  'POST /v1/keys/:id/rotate': admin('Rotate an API key (the new key shown once)', { id: 'key' }),

  'ALL /mcp': read('BeyondCloud as an MCP server (streamable HTTP, POST only); each tool as in the table below'),
};

/**
 * The tools of BeyondCloud's MCP server (lib/mcp-server/server.ts). Each calls the API with the caller's key, so a
 * tool allows exactly the roles every route it calls allows.
 */
export const MCP_TOOLS: Record<string, { calls: readonly string[] }> = {
  search_knowledge: { calls: ['GET /v1/collections', 'POST /v1/search'] },
  ask: { calls: ['GET /v1/collections', 'POST /v1/answers'] },
  ingest_url: { calls: ['GET /v1/collections', 'POST /v1/collections/:id/urls'] },
  run_status: { calls: ['GET /v1/runs/:id', 'GET /v1/ingests/:workflowId'] },
};

/** The roles an MCP tool allows: those of every route it calls. */
export function toolRoles(tool: string): Role[] {
  const calls = MCP_TOOLS[tool]?.calls ?? [];
  return ALL_ROLES.filter((role) => calls.every((c) => PERMISSIONS[c]?.roles.includes(role)));
}

/** `METHOD /path` of one router layer: its method (GET for GET+HEAD, ALL for a route of every method) and path. */
export function routeKey(layer: { methods: readonly string[]; path: string | RegExp }): string {
  const methods = layer.methods.filter((m) => m !== 'HEAD' || !layer.methods.includes('GET'));
  const method = methods.length > 5 ? 'ALL' : methods.join(',');
  return `${method} ${String(layer.path)}`;
}

/** Who may call a route, in words: `public`, or the roles, with "platform" for the platform tenant's admins. */
export function whoMay(r: RouteRule): string {
  if (r.public) return 'public';
  const roles = r.roles.length === ALL_ROLES.length ? 'any role' : r.roles.join(', ');
  if (r.session) return `${roles}, console session`;
  return r.platformAdmin ? `platform ${roles}` : roles;
}

/** The README section (between the permissions markers): the table as Markdown. */
export function permissionsMarkdown(): string {
  const params = (r: RouteRule) =>
    Object.entries(r.params)
      .map(([name, kind]) => `\`:${name}\` ${PARAM_KINDS[kind].tenantScoped ? '(tenant-scoped)' : ''}`.trim())
      .join(', ');
  const lines = [
    '### Permissions',
    '',
    'Generated from `api/permissions.ts`, the one permission table; `test/permissions.test.ts` fails when a route has',
    'no entry, an entry has no route, a guard disagrees with it, or this section differs. It calls every route with',
    'every role, and with another tenant’s ids: a role not listed answers 403 `forbidden` before any lookup; a',
    'tenant-scoped id of another tenant answers 404 exactly like a missing one. "platform admin" routes need an',
    'admin of the platform tenant (the one made at first start); "console session" routes are about a signed-in',
    'user’s own session, which an API key has none of (400 `session_required`).',
    '',
    '| route | who | path parameters | what |',
    '|---|---|---|---|',
    ...Object.entries(PERMISSIONS).map(([route, r]) => `| \`${route}\` | ${whoMay(r)} | ${params(r)} | ${r.summary} |`),
    '',
    'The MCP server’s tools (`/mcp`, `npm run mcp`) call the API with the caller’s key; each allows the roles of every',
    'route it calls:',
    '',
    '| MCP tool | who | calls |',
    '|---|---|---|',
    ...Object.entries(MCP_TOOLS).map(
      ([tool, t]) =>
        `| \`${tool}\` | ${toolRoles(tool).length === ALL_ROLES.length ? 'any role' : toolRoles(tool).join(', ')} | ${t.calls.map((c) => `\`${c}\``).join(', ')} |`,
    ),
    '',
    'The OpenAPI 3.1 document, generated from this table and the zod schemas the routes validate with, is served at',
    '`/v1/openapi.json` and rendered at `/v1/docs`; `test/openapi.test.ts` checks it covers every route, and',
    '`test/schemathesis.test.ts` runs Schemathesis over it against the live API with two tenants’ keys (Schemathesis',
    '4.32.5 from PyPI, installed by the test setup into a virtualenv in `~/.cache/beyondcloud/schemathesis/4.32.5/`;',
    '`SCHEMATHESIS_BIN` overrides).',
  ];
  return lines.join('\n');
}
