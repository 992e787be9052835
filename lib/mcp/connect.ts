import { lookup } from 'node:dns/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Config } from '../config';
import type { McpServerRow } from '../db/entities/mcp';
import { isForbiddenAddress } from '../net/safe-fetch';
import { looksLikeSecretRef, type TenantSecretResolver } from '../secrets/tenant';

export type McpErrorCode =
  'mcp_stdio_not_allowed' | 'mcp_url_not_allowed' | 'mcp_secret_unresolved' | 'mcp_connect_failed';

/** A problem with a server's registration or reachability; `code` is stable (API error code, failure type). */
export class McpError extends Error {
  constructor(
    readonly code: McpErrorCode,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'McpError';
  }
}

export type McpConnectionSpec =
  | { transport: 'http'; url: string; headers: Record<string, string> }
  | { transport: 'stdio'; name: string; command: string; args: string[]; env?: Record<string, string>; cwd?: string };

export interface McpConnectOptions {
  stdioAllowList: Config['mcp']['stdioAllowList'];
  /** The server's tenant's own secrets: a registration never reaches the platform's environment, files or Vault. */
  secrets: TenantSecretResolver;
}

/**
 * What to connect to for a registered server: stdio only through the admin allow-list (the row holds a name,
 * never a command), HTTP with its header values and bearer resolved among the tenant's own secrets (secret:<name>).
 */
export async function connectionSpec(
  server: Pick<McpServerRow, 'tenantId' | 'transport' | 'url' | 'stdioName' | 'headers' | 'bearerSecret' | 'name'>,
  opts: McpConnectOptions,
): Promise<McpConnectionSpec> {
  if (server.transport === 'stdio') {
    const entry = server.stdioName ? opts.stdioAllowList.get(server.stdioName) : undefined;
    if (!entry)
      throw new McpError(
        'mcp_stdio_not_allowed',
        `The stdio server "${server.stdioName}" is not in MCP_STDIO_ALLOWLIST.`,
      );
    return {
      transport: 'stdio',
      name: server.stdioName!,
      command: entry.command,
      args: entry.args,
      env: entry.env,
      cwd: entry.cwd,
    };
  }
  const headers: Record<string, string> = {};
  // Which setting failed is named; the reference is not (a row stored before tenant secrets may name env: or file:).
  let setting = '';
  try {
    for (const [k, v] of Object.entries(server.headers ?? {})) {
      setting = `header ${k}`;
      headers[k] = looksLikeSecretRef(v) ? await opts.secrets.resolve(server.tenantId, v) : v;
    }
    setting = 'bearerSecret';
    if (server.bearerSecret)
      headers.authorization = `Bearer ${await opts.secrets.resolve(server.tenantId, server.bearerSecret)}`;
  } catch (e) {
    throw new McpError(
      'mcp_secret_unresolved',
      `A secret of the MCP server "${server.name}" could not be resolved (${setting}): ${(e as Error).message}`,
      { cause: e },
    );
  }
  return { transport: 'http', url: server.url!, headers };
}

/** Opens an MCP client session (initialize handshake included). The caller closes it. */
export async function connectMcp(spec: McpConnectionSpec, opts: { timeoutMs?: number } = {}): Promise<Client> {
  const client = new Client({ name: 'beyondcloud', version: '0.1.0' }, { capabilities: {} });
  const transport =
    spec.transport === 'http'
      ? new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: spec.headers } })
      : new StdioClientTransport({
          command: spec.command,
          args: spec.args,
          // Only the SDK's minimal inherited environment plus the allow-list's own: worker secrets stay in the worker.
          env: { ...getDefaultEnvironment(), ...spec.env },
          cwd: spec.cwd,
          stderr: 'ignore',
        });
  try {
    await client.connect(transport, { timeout: opts.timeoutMs ?? 30_000 });
  } catch (e) {
    await client.close().catch(() => {});
    const where = spec.transport === 'http' ? spec.url : `stdio:${spec.name}`;
    throw new McpError(
      'mcp_connect_failed',
      `Could not connect to the MCP server at ${where}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return client;
}

/**
 * Registration-time guard for HTTP servers: http(s) only, no credentials in the URL, and no private, loopback or
 * link-local address unless the operator allowed the host (FETCH_ALLOW_HOSTS, exact host or IP).
 */
export async function checkServerUrl(raw: string, allowHosts: string[]): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new McpError('mcp_url_not_allowed', 'The URL does not parse.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new McpError('mcp_url_not_allowed', 'Only http: and https: URLs are allowed.');
  if (url.username || url.password)
    throw new McpError('mcp_url_not_allowed', 'Credentials in URLs are not allowed; use headers or bearerSecret.');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allowHosts.includes(host)) return;
  const addresses = await lookup(host, { all: true }).catch(() => []);
  if (addresses.length === 0) throw new McpError('mcp_url_not_allowed', `The host ${host} does not resolve.`);
  const forbidden = addresses.find((a) => isForbiddenAddress(a.address) && !allowHosts.includes(a.address));
  if (forbidden) {
    throw new McpError(
      'mcp_url_not_allowed',
      `The host ${host} resolves to a private or internal address (${forbidden.address}); an operator can allow it with FETCH_ALLOW_HOSTS.`,
    );
  }
}
