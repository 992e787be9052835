import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../process/ports';
import { startDevServer, startupFailure } from './dev-server';

/** A Go panic's output: its cause first, then a stack longer than the tail a start keeps. */
const PANIC = [
  'panic: failed assigning ephemeral port: failed to assign a free port: accept tcp: too many open files',
  '',
  'goroutine 1 [running]:',
  ...Array.from(
    { length: 120 },
    (_, i) => `github.com/temporalio/cli/temporalcli.frame${i}(0x0)\n\t/src/f.go:${i} +0x1`,
  ),
].join('\n');

/** A `temporal` that panics while starting the first `crashes` times and then runs the real CLI. */
async function crashingCli(crashes: number) {
  const dir = await mkdtemp(join(tmpdir(), 'dev-server-'));
  const path = join(dir, 'temporal');
  await writeFile(join(dir, 'panic.txt'), PANIC);
  await writeFile(
    path,
    [
      '#!/bin/sh',
      `n=$(cat "${dir}/count" 2>/dev/null || echo 0)`,
      `echo $((n + 1)) > "${dir}/count"`,
      `if [ "$n" -lt ${crashes} ]; then cat "${dir}/panic.txt" >&2; exit 2; fi`,
      `exec "${inject('temporalCliPath')}" "$@"`,
    ].join('\n'),
  );
  await chmod(path, 0o755);
  return path;
}

describe('startDevServer', () => {
  it('starts again on other ports when the CLI panics while starting', async () => {
    const server = await startDevServer({ cliPath: await crashingCli(1), port: 0, uiPort: null });
    try {
      const connection = await Connection.connect({ address: server.address });
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespaceInfo?.name).toBe('default');
      await connection.close();
    } finally {
      await server.stop();
    }
  });

  it("reports a panic's cause, not only the end of its stack, when it keeps panicking", async () => {
    const error = await startDevServer({ cliPath: await crashingCli(5), port: 0, uiPort: null }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('panic: failed assigning ephemeral port');
  });

  it('does not start again on ports the caller chose', async () => {
    const cliPath = await crashingCli(1);
    const error = await startDevServer({ cliPath, port: await freePort(), uiPort: null }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^Temporal dev server exited \(2\): panic: failed assigning/);
  });

  it('keeps the tail alone when it already holds the cause', () => {
    expect(startupFailure('panic: x\nend', 'panic: x\nend')).toBe('panic: x\nend');
    expect(startupFailure('starting\n', 'listen tcp: address already in use')).toBe(
      'listen tcp: address already in use',
    );
  });
});
