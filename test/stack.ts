import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { freePort } from '../lib/process/ports';

/** `npm start` as a user runs it, on free ports and a data folder of its own, for tests of the whole stack. */
const root = fileURLToPath(new URL('..', import.meta.url));

export interface Launch {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export interface Stack {
  env: NodeJS.ProcessEnv;
  apiUrl: string;
  temporalAddress: string;
  launch(extraEnv?: NodeJS.ProcessEnv): Launch;
  untilUp(l: Launch): Promise<void>;
  /** SIGTERM every launch still running and wait for it; call from afterAll. */
  stopAll(): Promise<void>;
}

export async function prepareStack(): Promise<Stack> {
  const [api, temporal, ui, pglite] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BC_DATA_DIR: await mkdtemp(join(inject('tmpDir'), 'stack-')),
    API_PORT: String(api),
    TEMPORAL_DEV_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(ui),
    PGLITE_PORT: String(pglite),
    TEMPORAL_CLI_PATH: inject('temporalCliPath'),
    WORKER_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    LOG_LEVEL: 'warn',
  };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  const launched: ChildProcess[] = [];
  return {
    async stopAll() {
      for (const l of launched) {
        if (l.exitCode === null && l.signalCode === null) {
          const exited = new Promise((r) => l.once('exit', r));
          l.kill('SIGTERM');
          await exited;
        }
      }
    },
    env,
    apiUrl: `http://127.0.0.1:${api}`,
    temporalAddress: `127.0.0.1:${temporal}`,
    launch(extraEnv = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        cwd: root,
        env: { ...env, ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      launched.push(child);
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      return { child, output: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
    },
    async untilUp(l) {
      const deadline = Date.now() + 180_000;
      while (!l.output().includes('Ctrl-C stops everything.')) {
        if (l.child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${l.output()}`);
        await sleep(100);
      }
    },
  };
}

export const adminKeyFrom = (output: string) => /Admin API key \(shown once, only its hash is stored\): (bc_\S+)/.exec(output)?.[1];
