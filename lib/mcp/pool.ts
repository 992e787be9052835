import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Config } from '../config';
import type { McpServerRow, McpToolDefinition } from '../db/entities/mcp';
import type { Logger } from '../log';
import type { TenantSecretResolver } from '../secrets/tenant';
import { connectionSpec, connectMcp } from './connect';
import { toolDefinition } from './definition';

type ServerRef = Pick<
  McpServerRow,
  'id' | 'tenantId' | 'name' | 'transport' | 'url' | 'stdioName' | 'headers' | 'bearerSecret' | 'updatedAt'
>;

interface Entry {
  /** The server row's version the connection was made for; a changed registration gets a new connection. */
  version: number;
  client: Promise<Client>;
}

/**
 * MCP client sessions of one worker process, one per registered server, opened on first use and reused by every
 * tool call on this worker. A session whose transport closes (a stdio server exiting, an HTTP session ending) is
 * dropped and reopened on the next call. `close()` ends them all at worker shutdown (and stops stdio servers).
 */
export class McpClientPool {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(
    private readonly opts: {
      config: Config['mcp'];
      /** Tenant secrets: each server's references resolve among its own tenant's secrets only. */
      secrets: TenantSecretResolver;
      log?: Logger;
    },
  ) {}

  get resultMaxChars(): number {
    return this.opts.config.toolResultMaxChars;
  }

  get defaultCallTimeoutMs(): number {
    return this.opts.config.callTimeoutMs;
  }

  /** The session for a server, opening it if needed; concurrent callers share one connect. */
  client(server: ServerRef): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('the MCP client pool is closed'));
    const version = server.updatedAt instanceof Date ? server.updatedAt.getTime() : 0;
    const current = this.entries.get(server.id);
    if (current && current.version === version) return current.client;
    if (current) this.drop(server.id, current);
    const entry: Entry = {
      version,
      client: (async () => {
        const spec = await connectionSpec(server, {
          stdioAllowList: this.opts.config.stdioAllowList,
          secrets: this.opts.secrets,
        });
        const client = await connectMcp(spec);
        client.onclose = () => {
          if (this.entries.get(server.id) === entry) this.entries.delete(server.id);
        };
        return client;
      })(),
    };
    // A failed connect is not cached: the next call tries again.
    entry.client.catch(() => {
      if (this.entries.get(server.id) === entry) this.entries.delete(server.id);
    });
    this.entries.set(server.id, entry);
    return entry.client;
  }

  /** The tools the server lists right now (all pages), as pinnable definitions. */
  async listTools(
    server: ServerRef,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<McpToolDefinition[]> {
    const client = await this.client(server);
    const out: McpToolDefinition[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, {
        signal: opts.signal,
        timeout: opts.timeoutMs ?? 30_000,
      });
      out.push(
        ...page.tools.map((t) =>
          toolDefinition(t as { name: string; description?: string; inputSchema: Record<string, unknown> }),
        ),
      );
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  /** Forget a server's session (after an error that may have broken it); the next call reconnects. */
  evict(serverId: string): void {
    const entry = this.entries.get(serverId);
    if (entry) this.drop(serverId, entry);
  }

  private drop(serverId: string, entry: Entry) {
    this.entries.delete(serverId);
    entry.client.then((c) => c.close()).catch(() => {});
  }

  /** Closes every session; stdio servers are stopped. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.map(async (e) => (await e.client).close()));
  }
}
