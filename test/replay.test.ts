import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { expect, inject, it } from 'vitest';
import { workflowInterceptorModules } from '../lib/telemetry/worker-tracing';

const dir = fileURLToPath(new URL('./histories', import.meta.url));

async function recordedHistories() {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (f) => {
      const { workflowId, ...history } = JSON.parse(await readFile(join(dir, f), 'utf8')) as { workflowId?: string };
      return { file: f, workflowId: workflowId ?? f, history: historyFromJSON(history) };
    }),
  );
}

/**
 * Replays every recorded history (test/histories/<workflow>-<case>.json) against today's workflow code: a change
 * that would break running workflows fails here with a DeterminismViolationError. Record new ones with
 * `npm run record:history`.
 */
it('replays every recorded history without a determinism violation', async () => {
  const histories = await recordedHistories();
  expect(histories.length).toBeGreaterThan(0);
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: inject('workflowBundlePath') } },
    histories,
  )) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(histories.length);
});

/** The gate can fail: a bundle with one unsafe change fails exactly the histories of the changed workflow. */
it(
  'fails the histories of a workflow changed in a way unsafe for running workflows (negative control)',
  { timeout: 180_000 },
  async () => {
    const histories = await recordedHistories();
    const selfTests = histories.filter((h) => h.file.startsWith('self-test-')).map((h) => h.workflowId);
    expect(selfTests.length).toBeGreaterThan(0);
    const { code } = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./replay-control/workflows.ts', import.meta.url)),
      workflowInterceptorModules,
      logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} },
    });
    const violations: string[] = [];
    const others: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { code } }, histories)) {
      if (result.error?.name === 'DeterminismViolationError') violations.push(result.workflowId);
      else if (result.error) others.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
    }
    expect(others).toEqual([]);
    expect(violations.sort()).toEqual(selfTests.sort());
  },
);
