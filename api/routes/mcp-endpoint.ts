import type { Socket } from 'node:net';
import { Router } from '@koa/router';
import type { Context, Next } from 'koa';
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

  router.all('/mcp', browserPage, authenticate(deps), async (ctx) => {
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

/**
 * A person who opens `/mcp` in a browser gets a page saying what the endpoint is and how to connect, instead of a
 * JSON error. Only a GET that asks for HTML by name: MCP clients send `application/json, text/event-stream`, and a
 * GET without `text/html` (a wildcard alone is not enough) is answered exactly as before. The page holds nothing of a tenant.
 */
async function browserPage(ctx: Context, next: Next): Promise<void> {
  if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !/(^|,)\s*text\/html\b/i.test(ctx.get('accept')))
    return next();
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('cache-control', 'no-store');
  ctx.set(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
  );
  // The address as the browser reached it (escaped in the page; Koa's ctx.origin can be null here).
  ctx.body = mcpEndpointPage(`${ctx.protocol}://${ctx.get('host') || 'localhost'}`);
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page for a browser: self-contained, no script, links into the console. */
export function mcpEndpointPage(origin: string): string {
  const base = escapeHtml(origin);
  const claude = escapeHtml(
    JSON.stringify(
      {
        mcpServers: {
          beyondcloud: {
            command: 'npm',
            args: ['run', '--silent', '--prefix', '/path/to/beyondcloud', 'mcp'],
            env: { BEYONDCLOUD_API_URL: origin, BEYONDCLOUD_API_KEY: 'bc_...' },
          },
        },
      },
      null,
      2,
    ),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>BeyondCloud MCP endpoint</title>
<style>
body{font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:820px;margin:2rem auto;padding:0 1rem;color:#1b1f27;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}
code,pre{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f5f6f8;border:1px solid #e1e4ea;border-radius:6px;padding:.75rem;white-space:pre-wrap;overflow-wrap:anywhere}
a{color:#2f4fd8}.muted{color:#5f6673}ul{padding-left:1.25rem}
</style></head>
<body><main>
<h1>BeyondCloud MCP endpoint</h1>
<p class="muted">This address speaks the Model Context Protocol to MCP clients (Claude Desktop, IDE agents, the MCP SDK); it is not a web page to use in a browser.</p>
<p>It offers the knowledge base as four tools: <code>search_knowledge</code>, <code>ask</code>, <code>ingest_url</code> and <code>run_status</code>. Each call runs with the key's tenant and role, exactly like the <a href="/v1/docs">REST API</a>.</p>
<h2>Streamable HTTP</h2>
<p>Stateless JSON-RPC over <code>POST</code>, authenticated with an API key (create one under <a href="/admin/keys">Admin → API keys</a>):</p>
<pre>URL:     ${base}/mcp
Header:  Authorization: Bearer &lt;api key&gt;
Method:  POST (GET and DELETE answer 405: there are no sessions)</pre>
<h2>stdio</h2>
<p>From a checkout of BeyondCloud, against a running API (<code>--silent</code> keeps npm's banner off stdout, which carries the protocol):</p>
<pre>BEYONDCLOUD_API_URL=${base} BEYONDCLOUD_API_KEY=bc_... npm run --silent mcp</pre>
<p>In Claude Desktop's <code>claude_desktop_config.json</code>:</p>
<pre>${claude}</pre>
<h2>The other way round</h2>
<p>BeyondCloud's agents call tools of other MCP servers: register and approve them in the console under <a href="/agents/tools">Agents → Tools (MCP servers)</a>.</p>
</main></body></html>
`;
}
