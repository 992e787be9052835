import { z } from 'zod';
import { quotaOverridesPatch } from '../../lib/quota';
import { tenantSettingsPatch } from '../../lib/settings';
import {
  chatCompletionBody,
  chatCompletionResponse,
  embeddingsBody,
  embeddingsResponse,
  modelObject,
  modelsResponse,
} from '../openai/spec';
import { approvalBody, pendingApprovalsResponse, startBody } from '../routes/agents';
import { savedAgentBody, savedAgentPatch, savedAgentRunBody } from '../routes/saved-agents';
import {
  answerBody,
  answersQuery,
  conversationBody,
  groundingBody,
  messageBody,
  reviewBody,
  searchBody,
} from '../routes/answers';
import { exportQuery as auditExportQuery, listQuery as auditQuery } from '../routes/audit';
import { acceptBody, loginBody, passwordBody, switchBody } from '../routes/auth';
import {
  chunksQuery,
  citingAnswersResponse,
  chunksResponse,
  collectionBody,
  documentReingestResponse,
  documentResponse,
  documentsQuery,
  folderBody,
  staleAnswersResponse,
  uploadQuery,
  urlsBody,
} from '../routes/collections';
import { createBody as keyBody } from '../routes/keys';
import { completionBody } from '../routes/llm';
import { approveBody, createBody as mcpServerBody, patchBody as mcpServerPatch } from '../routes/mcp';
import { childrenQuery as runChildrenQuery, listQuery as runsQuery, runQuery } from '../routes/runs';
import { rangeQuery as usageRangeQuery, timeseriesQuery as usageTimeseriesQuery } from '../routes/usage';
import { latencyResponse, summaryResponse, timeseriesResponse } from '../usage/responses';
import { putBody as secretBody } from '../routes/secrets';
import { selfTestBody } from '../routes/system';
import { addMemberBody, createTenantBody, inviteBody, setRoleBody } from '../routes/tenants';
import { waitQuery } from '../schemas';
import { runsQuery as scheduleRunsQuery } from '../routes/schedules';
import { sourceBody, sourcePatchBody, sourceResponse, sourcesResponse, syncStartedResponse } from '../routes/sources';
import { promptLabelBody, promptVersionBody } from '../routes/prompts';
import { createReplayBody, itemsQuery as replayItemsQuery } from '../replays/spec';
import {
  createDatasetBody,
  exportQuery as datasetExportQuery,
  fromAnswersBody,
  importEnvelope,
  itemsQuery as datasetItemsQuery,
  updateDatasetBody,
  versionBody,
} from '../evals/datasets-service';
import { backfillBody, createSchedule, noteBody, triggerBody, updateSchedule } from '../schedules/spec';
import {
  createEvalRun,
  createExperiment,
  itemsQuery as evalItemsQuery,
  listQuery as evalListQuery,
} from '../evals/spec';

/**
 * What the document says about each route beyond api/permissions.ts: the zod schemas the route validates its
 * request with (the same objects), its success statuses, and a response shape where one exists. A route missing
 * here is documented with a generic JSON body and the default statuses of its method.
 */
export interface OperationSpec {
  body?: z.ZodType;
  query?: z.ZodObject;
  /** Files as multipart/form-data instead of a JSON body. */
  multipart?: boolean;
  /** Success statuses; 204 has no body. */
  ok?: number[];
  /** The success body; a generic JSON object when absent. */
  response?: z.ZodType;
  /** The success body's media type when it is not JSON (an event stream, JSON lines, a page). */
  successType?: 'text/event-stream' | 'application/x-ndjson' | 'text/html';
  /** Any JSON (the MCP endpoint answers JSON-RPC, not the API's shapes). */
  jsonRpc?: boolean;
  /** Errors in OpenAI's shape (`OpenAIError`), as every route under `/v1/openai` answers them. */
  openai?: boolean;
  /** With `stream: true` in the body the success is an event stream instead of the JSON response. */
  streams?: boolean;
}

/** `?wait=true` on the run starts: wait for the result instead of answering 202 at once. */
const startQuery = waitQuery.pick({ wait: true });

const me = z.object({
  tenant: z.object({ id: z.string(), name: z.string() }),
  role: z.enum(['admin', 'operator', 'viewer']),
  platformAdmin: z.boolean(),
  via: z.enum(['key', 'session']),
  key: z.object({ id: z.string().nullable(), name: z.string().nullable(), prefix: z.string().nullable() }).nullable(),
  user: z.object({ id: z.string().nullable(), email: z.string().nullable() }).nullable(),
});

/** A key as the keys routes answer it (api/keys/service.ts): never its hash, and the key itself only when made. */
const apiKey = z.object({
  id: z.uuid(),
  name: z.string(),
  role: z.enum(['admin', 'operator', 'viewer']),
  prefix: z.string(),
  status: z.enum(['active', 'expired', 'revoked']),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  createdByKeyId: z.uuid().nullable(),
  createdByUserId: z.uuid().nullable(),
});
const newApiKey = apiKey.extend({ key: z.string().startsWith('bc_') });

export const OPERATIONS: Record<string, OperationSpec> = {
  'GET /healthz': { response: z.object({ status: z.literal('ok') }) },
  'GET /readyz': { response: z.looseObject({ status: z.literal('ready'), checks: z.unknown() }) },
  'GET /v1/openapi.json': {},
  'GET /v1/docs': { successType: 'text/html' },

  'GET /v1/auth/providers': { response: z.object({ password: z.boolean(), oidc: z.boolean() }) },
  'POST /v1/auth/login': { body: loginBody },
  'POST /v1/auth/invitations/accept': { body: acceptBody, ok: [201] },
  'GET /v1/auth/oidc/login': { ok: [302] },
  'GET /v1/auth/oidc/callback': { ok: [302] },
  'POST /v1/auth/logout': { ok: [204] },
  'POST /v1/auth/session/tenant': { body: switchBody },
  'POST /v1/auth/password': { body: passwordBody },
  'POST /v1/auth/sessions/:id/revoke': {},

  'POST /v1/tenants': { body: createTenantBody, ok: [201] },
  'PUT /v1/tenants/:id/quotas': { body: quotaOverridesPatch },
  'PUT /v1/settings': { body: tenantSettingsPatch },
  'POST /v1/members': { body: addMemberBody, ok: [201] },
  'PATCH /v1/members/:userId': { body: setRoleBody },
  'DELETE /v1/members/:userId': { ok: [200] },
  'POST /v1/invitations': { body: inviteBody, ok: [201] },
  'POST /v1/invitations/:id/revoke': {},
  'GET /v1/audit': { query: auditQuery },
  'GET /v1/audit/export': { query: auditExportQuery, successType: 'application/x-ndjson' },

  'GET /v1/system/me': { response: me },
  'POST /v1/system/self-test': { body: selfTestBody, query: startQuery, ok: [200, 202] },

  'GET /v1/runs': { query: runsQuery },
  'GET /v1/runs/:id': { query: runQuery },
  'GET /v1/runs/:id/children': { query: runChildrenQuery },
  'GET /v1/runs/:id/steps': { query: runQuery },
  'GET /v1/runs/:id/trace': { query: runQuery },
  'POST /v1/runs/:id/cancel': { ok: [202] },

  'GET /v1/usage/summary': { query: usageRangeQuery, response: summaryResponse },
  'GET /v1/usage/timeseries': { query: usageTimeseriesQuery, response: timeseriesResponse },
  'GET /v1/usage/latency': { query: usageRangeQuery, response: latencyResponse },

  'POST /v1/llm/completions': { body: completionBody, query: startQuery, ok: [200, 202] },

  'POST /v1/collections': { body: collectionBody, ok: [201] },
  'DELETE /v1/collections/:id': { ok: [204] },
  'GET /v1/collections/:id/documents': { query: documentsQuery },
  'POST /v1/collections/:id/documents': { multipart: true, query: uploadQuery, ok: [201, 202] },
  'POST /v1/collections/:id/urls': { body: urlsBody, ok: [201, 202] },
  'POST /v1/collections/:id/uploads/:upload/ingest': { ok: [202] },
  'POST /v1/collections/:id/folder': { body: folderBody, ok: [202] },
  'POST /v1/collections/:id/reingest': { ok: [202] },
  'GET /v1/documents/:id': { response: documentResponse },
  'GET /v1/documents/:id/chunks': { query: chunksQuery, response: chunksResponse },
  'GET /v1/documents/:id/answers': { response: citingAnswersResponse },
  'POST /v1/documents/:id/reingest': { ok: [202], response: documentReingestResponse },
  'DELETE /v1/documents/:id': { ok: [204] },

  'GET /v1/collections/:id/stale-answers': { response: staleAnswersResponse },
  'GET /v1/collections/:id/sources': { response: sourcesResponse },
  'POST /v1/collections/:id/sources': { body: sourceBody, ok: [201], response: sourceResponse },
  'GET /v1/collections/:id/sources/:sourceId': { response: sourceResponse },
  'PATCH /v1/collections/:id/sources/:sourceId': { body: sourcePatchBody, response: sourceResponse },
  'DELETE /v1/collections/:id/sources/:sourceId': { ok: [204] },
  'POST /v1/collections/:id/sources/:sourceId/sync': { ok: [202], response: syncStartedResponse },

  'POST /v1/schedules': { body: createSchedule, ok: [201] },
  'PATCH /v1/schedules/:id': { body: updateSchedule },
  'DELETE /v1/schedules/:id': { ok: [204] },
  'POST /v1/schedules/:id/pause': { body: noteBody },
  'POST /v1/schedules/:id/unpause': { body: noteBody },
  'POST /v1/schedules/:id/trigger': { body: triggerBody, ok: [202] },
  'POST /v1/schedules/:id/backfill': { body: backfillBody, ok: [202] },
  'GET /v1/schedules/:id/runs': { query: scheduleRunsQuery },

  'POST /v1/prompts/:name/versions': { body: promptVersionBody, ok: [201] },
  'PUT /v1/prompts/:name/labels': { body: promptLabelBody },

  'POST /v1/datasets': { body: createDatasetBody, ok: [201] },
  'POST /v1/datasets/from-answers': { body: fromAnswersBody, ok: [201] },
  'PATCH /v1/datasets/:id': { body: updateDatasetBody },
  'DELETE /v1/datasets/:id': { ok: [204] },
  'GET /v1/datasets/:id/items': { query: datasetItemsQuery },
  'POST /v1/datasets/:id/versions': { body: versionBody, ok: [201] },
  'POST /v1/datasets/:id/import': { body: importEnvelope, ok: [201] },
  'GET /v1/datasets/:id/export': { query: datasetExportQuery, successType: 'application/x-ndjson' },

  'POST /v1/replays': { body: createReplayBody, ok: [202] },
  'GET /v1/replays/:id/items': { query: replayItemsQuery },

  'GET /v1/evals': { query: evalListQuery },
  'POST /v1/evals': { body: createEvalRun, ok: [202] },
  'GET /v1/evals/:id/items': { query: evalItemsQuery },
  'POST /v1/experiments': { body: createExperiment, ok: [201] },
  'DELETE /v1/experiments/:id': { ok: [204] },

  'POST /v1/answers': { body: answerBody, query: waitQuery, ok: [200, 202] },
  'GET /v1/answers': { query: answersQuery },
  'GET /v1/answers/:id': { query: waitQuery, ok: [200, 202] },
  'GET /v1/answers/:id/events': { successType: 'text/event-stream' },
  'POST /v1/answers/:id/review': { body: reviewBody, ok: [200, 202] },
  'POST /v1/grounding': { body: groundingBody, ok: [200, 202] },
  'POST /v1/search': { body: searchBody, ok: [200] },
  'POST /v1/conversations': { body: conversationBody, ok: [201] },
  'POST /v1/conversations/:id/messages': { body: messageBody, query: waitQuery, ok: [200, 202] },

  'POST /v1/mcp/servers': { body: mcpServerBody, ok: [201] },
  'PATCH /v1/mcp/servers/:id': { body: mcpServerPatch },
  'DELETE /v1/mcp/servers/:id': { ok: [204] },
  'POST /v1/mcp/servers/:id/tools/:name/approve': { body: approveBody },

  'POST /v1/agents/saved': { body: savedAgentBody, ok: [201] },
  'PATCH /v1/agents/saved/:id': { body: savedAgentPatch },
  'DELETE /v1/agents/saved/:id': { ok: [204] },
  'POST /v1/agents/saved/:id/runs': { body: savedAgentRunBody, query: startQuery, ok: [200, 202] },

  'GET /v1/openai/models': { openai: true, response: modelsResponse },
  'GET /v1/openai/models/:model': { openai: true, response: modelObject },
  'POST /v1/openai/chat/completions': {
    openai: true,
    body: chatCompletionBody,
    ok: [200],
    response: chatCompletionResponse,
    streams: true,
  },
  'POST /v1/openai/embeddings': { openai: true, body: embeddingsBody, ok: [200], response: embeddingsResponse },

  'POST /v1/agents/runs': { body: startBody, query: startQuery, ok: [200, 202] },
  'GET /v1/agents/approvals': { response: pendingApprovalsResponse },
  'GET /v1/agents/runs/:id/events': { successType: 'text/event-stream' },
  'POST /v1/agents/runs/:id/approvals': { body: approvalBody },
  'POST /v1/agents/runs/:id/cancel': { ok: [202] },

  'PUT /v1/secrets/:name': { body: secretBody, ok: [200, 201] },
  'DELETE /v1/secrets/:name': { ok: [204] },

  'GET /v1/keys': { response: z.object({ keys: z.array(apiKey) }) },
  'POST /v1/keys': { body: keyBody, ok: [201], response: newApiKey },
  'POST /v1/keys/:id/revoke': { response: apiKey },
  'POST /v1/keys/:id/rotate': { ok: [201], response: newApiKey.extend({ replacedKeyId: z.uuid() }) },

  'ALL /mcp': { jsonRpc: true, ok: [200, 202] },
};

/** The success statuses of a route without its own: what each method usually answers here. */
export function defaultOk(method: string): number[] {
  if (method === 'POST') return [200, 201, 202];
  if (method === 'PUT') return [200, 201];
  if (method === 'DELETE') return [200, 204];
  return [200];
}
