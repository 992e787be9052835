import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiContentObject,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
} from 'zod-openapi';
import { TENANT_SECRET_NAME } from '../../lib/secrets/tenant';
import { openaiErrorSchema } from '../openai/spec';
import { PARAM_KINDS, PERMISSIONS, whoMay, type ParamKind, type RouteRule } from '../permissions';
import { defaultOk, OPERATIONS, type OperationSpec } from './operations';

/** The one error shape (api/errors.ts `ErrorBody`): every 4xx and 5xx of every route. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable and machine-readable, e.g. `not_found`, `validation_failed`.' }),
      message: z.string().meta({ description: 'For humans; never a secret.' }),
      details: z.unknown().optional().meta({ description: 'Safe to show: the fields a validation failure names.' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every error of the API, thrown or not.' });

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorSchema } },
});
const openaiErrorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: openaiErrorSchema } },
});

/** A JSON-RPC message or error of the MCP endpoint: the transport answers protocol errors in its own shape. */
const jsonRpc = {
  type: 'object',
  required: ['jsonrpc'],
  properties: { jsonrpc: { const: '2.0' } },
} as const;

const paramSchema: Record<(typeof PARAM_KINDS)[ParamKind]['format'], () => z.ZodType> = {
  uuid: () => z.uuid(),
  workflowId: () => z.string().min(1).max(300),
  name: () => z.string().min(1).max(128),
  secretName: () => z.string().regex(TENANT_SECRET_NAME),
};

/** `/v1/runs/:id` as OpenAPI writes it: `/v1/runs/{id}`. */
export const openapiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** Every route's method(s) as documented: an `ALL` route (the MCP endpoint) takes POST only. */
export const documentedMethods = (method: string) => (method === 'ALL' ? ['post'] : [method.toLowerCase()]);

const tagOf = (path: string) =>
  path.startsWith('/v1/') ? path.split('/')[2]! : path === '/mcp' ? 'mcp-endpoint' : 'health';

/** A key, or a session (with its CSRF token on writes); a session only where the route is about the session. */
function security(method: string, rule: RouteRule): Array<Record<string, string[]>> {
  if (rule.public) return [];
  const session: Record<string, string[]> =
    method === 'GET' ? { sessionCookie: [] } : { sessionCookie: [], csrfToken: [] };
  return rule.session ? [session] : [{ bearerAuth: [] }, session];
}

function operation(method: string, path: string, rule: RouteRule, spec: OperationSpec) {
  const ok = spec.ok ?? defaultOk(method === 'ALL' ? 'POST' : method);
  const json = (schema: unknown): ZodOpenApiContentObject => ({ 'application/json': { schema: schema as never } });
  const text = { schema: { type: 'string' as const } };
  const successBody: ZodOpenApiContentObject = spec.successType
    ? { [spec.successType]: text }
    : json(spec.response ?? (spec.jsonRpc ? {} : { type: 'object' }));
  if (spec.streams) successBody['text/event-stream'] = text;
  const responses: ZodOpenApiOperationObject['responses'] = {};
  for (const status of ok)
    responses[`${status}` as '200'] =
      status === 204
        ? { description: 'Done; no body.' }
        : status === 302
          ? { description: 'A redirect (the `Location` header).' }
          : { description: 'Success.', content: successBody };

  const errors = spec.jsonRpc
    ? (description: string) => ({
        description,
        content: json({ anyOf: [{ $ref: '#/components/schemas/Error' }, jsonRpc] }),
      })
    : spec.openai
      ? openaiErrorResponse
      : errorResponse;
  responses['400'] = errors('The request is not valid: `validation_failed` (with `details`), `invalid_json`, …');
  if (!rule.public) {
    responses['401'] = errors('No valid API key or session: `unauthorized`.');
    responses['403'] = errors(
      `The role is not allowed (\`forbidden\`; allowed: ${whoMay(rule)}), or a session write without its CSRF token.`,
    );
  }
  if (Object.keys(rule.params).length > 0)
    responses['404'] = errors('Not found in the caller’s tenant; another tenant’s id answers exactly the same.');
  responses['429'] = errors('A quota or rate limit; `Retry-After` says when to try again.');
  responses['4XX'] = errors('Any other refusal, in the same shape.');
  responses['5XX'] = errors('A dependency failed or a bug (`internal`, logged).');

  const params = Object.entries(rule.params);
  const op: ZodOpenApiOperationObject = {
    operationId: `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c?: string) => (c ? c.toUpperCase() : ''))}`,
    summary: rule.summary,
    description: `Who may call it: ${whoMay(rule)}.`,
    tags: [tagOf(path)],
    security: security(method, rule),
    requestParams: {
      ...(params.length
        ? {
            path: z.object(
              Object.fromEntries(
                params.map(([name, kind]) => [
                  name,
                  paramSchema[PARAM_KINDS[kind].format]().meta({ description: PARAM_KINDS[kind].what }),
                ]),
              ),
            ),
          }
        : {}),
      ...(spec.query ? { query: spec.query } : {}),
    },
    responses,
    'x-permissions': {
      public: rule.public,
      roles: rule.roles,
      platformAdmin: rule.platformAdmin,
      session: rule.session,
      tenantScopedParams: params.filter(([, kind]) => PARAM_KINDS[kind].tenantScoped).map(([name]) => name),
    },
  };
  if (spec.body)
    op.requestBody = {
      required: !spec.body.safeParse({}).success,
      content: { 'application/json': { schema: spec.body } },
    };
  if (spec.multipart)
    op.requestBody = {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: { files: { type: 'array', items: { type: 'string', format: 'binary' } } },
          },
        },
      },
    };
  if (spec.jsonRpc)
    op.requestBody = {
      required: true,
      description: 'A JSON-RPC 2.0 message of the Model Context Protocol (streamable HTTP, stateless).',
      content: json({ type: 'object', required: ['jsonrpc', 'method'], properties: { jsonrpc: { const: '2.0' } } }),
    };
  return op;
}

/** The OpenAPI 3.1 document of the whole API, from the permission table and the routes' own zod schemas. */
export function buildOpenApiDocument() {
  const paths: ZodOpenApiPathsObject = {};
  for (const [route, rule] of Object.entries(PERMISSIONS)) {
    const [method, path] = route.split(' ') as [string, string];
    const item = (paths[openapiPath(path)] ??= {});
    for (const m of documentedMethods(method))
      (item as Record<string, ZodOpenApiOperationObject>)[m] = operation(method, path, rule, OPERATIONS[route] ?? {});
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'BeyondCloud API',
      version: '1.0.0',
      description:
        'Durable AI work (ingestion, grounded answers, agents over MCP) as Temporal workflows. Authenticate with ' +
        '`Authorization: Bearer <api key>`, or a console session cookie plus its `x-csrf-token` header on writes. ' +
        'Every error has one shape (`Error`). Who may call each operation is in its description and in ' +
        '`x-permissions`; another tenant’s id answers 404 exactly like a missing one.',
    },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key (`bc_…`); it names the tenant and role.',
        },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'bc_session', description: 'A console session.' },
        csrfToken: {
          type: 'apiKey',
          in: 'header',
          name: 'x-csrf-token',
          description: 'The `bc_csrf` cookie’s value, on every write made with a session.',
        },
      },
    },
    paths,
  });
}
