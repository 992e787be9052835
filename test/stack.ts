import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

/** `npm start` as a user runs it, on free ports and a data folder of its own, for tests of the whole stack. */
const root = fileURLToPath(new URL('..', import.meta.url));

export interface Launch {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export interface Stack {
  env: NodeJS.ProcessEnv;
  /** Of the launch last seen up (every server binds a free port; the launcher prints the ones it got). */
  readonly apiUrl: string;
  readonly temporalAddress: string;
  /** The launcher run directly (default), through `npm start`, or through `bin/start`. */
  launch(extraEnv?: NodeJS.ProcessEnv, via?: 'node' | 'npm' | 'bin'): Launch;
  untilUp(l: Launch): Promise<void>;
  /** SIGTERM every launch still running and wait for it; call from afterAll. */
  stopAll(): Promise<void>;
}

export async function prepareStack(): Promise<Stack> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BC_DATA_DIR: await mkdtemp(join(inject('tmpDir'), 'stack-')),
    API_PORT: '0',
    TEMPORAL_DEV_PORT: '0',
    TEMPORAL_UI_PORT: '0',
    PGLITE_PORT: '0',
    TEMPORAL_CLI_PATH: inject('temporalCliPath'),
    WORKER_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
    LOG_LEVEL: 'warn',
  };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  const launched: ChildProcess[] = [];
  let up: { apiUrl: string; temporalAddress: string } | undefined;
  const current = () => {
    if (!up) throw new Error('no launch is up yet: call untilUp first');
    return up;
  };
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
    get apiUrl() {
      return current().apiUrl;
    },
    get temporalAddress() {
      return current().temporalAddress;
    },
    launch(extraEnv = {}, via = 'node') {
      const [cmd, args] =
        via === 'npm'
          ? ['npm', ['start']]
          : via === 'bin'
            ? [join(root, 'bin', 'start'), []]
            : [process.execPath, ['--import', 'tsx', 'scripts/start.ts']];
      const child = spawn(cmd, args, {
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
        if (l.child.exitCode !== null || Date.now() > deadline)
          throw new Error(`npm start did not come up:\n${l.output()}`);
        await sleep(100);
      }
      const apiUrl = /\[start\] {3}Console {6}(http:\/\/\S+?)\/\s/.exec(l.output())?.[1];
      const temporalAddress = /\[start\] {3}Temporal {5}(\S+)/.exec(l.output())?.[1];
      if (!apiUrl || !temporalAddress) throw new Error(`npm start did not print its addresses:\n${l.output()}`);
      up = { apiUrl, temporalAddress };
    },
  };
}

export const adminKeyFrom = (output: string) =>
  /Admin API key \(shown once, only its hash is stored\): (bc_\S+)/.exec(output)?.[1];
