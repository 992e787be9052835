import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface LaunchedStack {
  child: ChildProcess;
  output: () => string;
  apiUrl: string;
  /** As the launcher printed it (the embedded Postgres, or DATABASE_URL redacted). */
  databaseUrl: string | null;
  /** The Temporal frontend the stack runs on (host:port), as the launcher printed it. */
  temporalAddress: string | null;
  /** The admin key the launcher printed on a first start (an empty database); null otherwise. */
  key: string | null;
  stop: () => Promise<void>;
}

/**
 * `npm start` as a user runs it (the launcher directly, as bin/start does) on free ports, until it prints that it is
 * up. Nothing of the caller's BeyondCloud setup leaks in (an outside Temporal or database, a hosted model, quotas):
 * the embedded stack with the offline provider, then `env` on top (e.g. BC_DATA_DIR, DATABASE_URL).
 */
export async function launchStack(
  env: NodeJS.ProcessEnv,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<LaunchedStack> {
  const full: NodeJS.ProcessEnv = {
    ...process.env,
    API_PORT: '0',
    TEMPORAL_DEV_PORT: '0',
    TEMPORAL_UI_PORT: '0',
    PGLITE_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  for (const k of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'LLM_PROVIDER', 'OPENAI_API_KEY', 'OPENAI_BASE_URL'])
    delete full[k];
  for (const k of ['QUOTA_REQUESTS_PER_MINUTE', 'QUOTA_RUNS_PER_MINUTE', 'QUOTA_CONCURRENT_RUNS']) full[k] = '0';
  Object.assign(full, env);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: full,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  while (!out.includes('Ctrl-C stops everything.')) {
    if (child.exitCode !== null || opts.signal?.aborted || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not come up:\n${out}`);
    }
    await sleep(100);
  }
  const apiUrl = /\[start\] {3}Console {6}(http:\/\/\S+?)\/\s/.exec(out)?.[1];
  if (!apiUrl) {
    await stop();
    throw new Error(`npm start did not print its address:\n${out}`);
  }
  return {
    child,
    output: () => out,
    apiUrl,
    databaseUrl: /\[start\] {3}Postgres {5}(\S+)/.exec(out)?.[1] ?? null,
    temporalAddress: /\[start\] {3}Temporal {5}(\S+)/.exec(out)?.[1] ?? null,
    key: /Admin API key \(shown once, only its hash is stored\): (bc_\S+)/.exec(out)?.[1] ?? null,
    stop,
  };
}

/**
 * A call to the stack's API with a key: JSON (or a FormData body); a non-2xx status throws with the API's error and
 * its `status`; `timeoutMs` aborts a call that gets no answer.
 */
export async function stackCall<T>(
  apiUrl: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  opts: { timeoutMs?: number } = {},
) {
  const form = body instanceof FormData;
  const res = await fetch(apiUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && !form ? { 'content-type': 'application/json' } : {}),
    },
    body: form ? body : body === undefined ? undefined : JSON.stringify(body),
    ...(opts.timeoutMs ? { signal: AbortSignal.timeout(opts.timeoutMs) } : {}),
  });
  const text = await res.text();
  if (!res.ok)
    throw Object.assign(new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`), {
      status: res.status,
    });
  return JSON.parse(text) as T;
}
