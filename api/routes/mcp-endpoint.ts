import type { Socket } from 'node:net';
import { Router } from '@koa/router';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { context, propagation } from '@opentelemetry/api';
import { AppError } from '../../lib/errors';
import { HttpBackend } from '../../lib/mcp-server/backend';
import { createBeyondCloudMcpServer } from '../../lib/mcp-server/server';
import type { AppDeps } from '../deps';
import { authenticate, type AuthState } from '../auth/middleware';

/**
 * `/mcp`: the BeyondCloud MCP server over streamable HTTP, behind the same API keys as `/v1`. Stateless: every POST
 * gets a fresh server and transport (no session to keep, so any API replica can answer any request). Its tools call
 * this API itself over loopback with the caller's key, so auth, roles and tenant scoping are exactly the API's.
 */
export function mcpEndpointRoutes(deps: Pick<AppDeps, 'orm' | 'log' | 'config'>) {
  const { log } = deps;
  const router = new Router<AuthState>({ sensitive: true });

  router.all('/mcp', authenticate(deps), async (ctx) => {
    if (ctx.method !== 'POST') {
      // Stateless: no server-initiated stream to GET and no session to DELETE.
      ctx.set('allow', 'POST');
      throw new AppError({
        code: 'method_not_allowed',
        message: 'The MCP endpoint is stateless: send JSON-RPC messages with POST.',
        status: 405,
        category: 'user',
      });
    }
    const apiKey = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))![1]!;
    const headers: Record<string, string> = {};
    propagation.inject(context.active(), headers); // the tool calls' requests link to this request's span (api/tracing.ts)
    const backend = new HttpBackend({ baseUrl: selfUrl(ctx.req.socket), apiKey, headers });
    const server = createBeyondCloudMcpServer(backend);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    ctx.res.once('close', () => {
      void transport.close().finally(() => server.close());
    });
    await server.connect(transport);
    // Koa's body parser has read the body already; the transport writes the response itself.
    ctx.respond = false;
    try {
      await transport.handleRequest(ctx.req, ctx.res, ctx.request.body);
    } catch (e) {
      if (ctx.res.headersSent) {
        log.error({ err: e, path: ctx.path }, 'mcp request failed after the response started');
        return;
      }
      ctx.respond = true;
      throw e;
    }
  });

  return router;
}

/** This server as the caller reached it: the address and port the request came in on are surely listening. */
function selfUrl(socket: Socket): string {
  const port = socket.localPort;
  let host = socket.localAddress ?? '127.0.0.1';
  if (host.startsWith('::ffff:')) host = host.slice('::ffff:'.length);
  if (host === '0.0.0.0' || host === '::') host = '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
