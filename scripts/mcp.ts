/**
 * BeyondCloud as an MCP server over stdio (`npm run mcp`), for Claude Desktop-style clients. It calls a running API:
 * BEYONDCLOUD_API_KEY (required) says who, BEYONDCLOUD_API_URL (default http://127.0.0.1:<API_PORT>) says where.
 * stdout carries protocol messages only; everything else goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ConfigError, loadConfig } from '../lib/config';
import { HttpBackend } from '../lib/mcp-server/backend';
import { createBeyondCloudMcpServer } from '../lib/mcp-server/server';

const say = (line: string) => process.stderr.write(`beyondcloud-mcp: ${line}\n`);

function apiUrl(): string {
  const raw = process.env.BEYONDCLOUD_API_URL?.trim() || `http://127.0.0.1:${loadConfig().api.port}`;
  const protocol = URL.canParse(raw) ? new URL(raw).protocol : '';
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new ConfigError('BEYONDCLOUD_API_URL', `must be an http(s) URL (got "${raw}")`);
  return raw.replace(/\/+$/, '');
}

async function main() {
  const apiKey = process.env.BEYONDCLOUD_API_KEY?.trim();
  if (!apiKey)
    throw new ConfigError(
      'BEYONDCLOUD_API_KEY',
      'is required: set it to a BeyondCloud API key (npm start prints the admin key on first start)',
    );
  const baseUrl = apiUrl();
  const backend = new HttpBackend({ baseUrl, apiKey });
  const server = createBeyondCloudMcpServer(backend);
  const transport = new StdioServerTransport();
  await server.connect(transport);
  say(`serving on stdio, calling ${baseUrl}`);

  // The client ends the session by closing our stdin; leave then instead of waiting for its SIGTERM.
  const stop = () => void server.close().finally(() => process.exit(0));
  process.stdin.once('end', stop);
  process.stdin.once('close', stop);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  // Only a hint for whoever reads the client's server log: the key is checked again on every call anyway.
  void fetch(`${baseUrl}/v1/system/me`, {
    headers: { authorization: `Bearer ${apiKey}` },
    signal: AbortSignal.timeout(5000),
  }).then(
    async (res) => {
      if (res.ok)
        say(`authenticated as tenant ${((await res.json()) as { tenant?: { name?: string } }).tenant?.name ?? '?'}`);
      else say(`warning: the API answered ${res.status} to the key check; tool calls will fail until the key is valid`);
    },
    (e: unknown) => say(`warning: the API at ${baseUrl} is not reachable yet (${(e as Error).message})`),
  );
}

main().catch((e: unknown) => {
  say(e instanceof ConfigError ? e.message : `failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
