import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { expect, inject, it } from 'vitest';

const dir = fileURLToPath(new URL('./histories', import.meta.url));

/**
 * Recorded `syncSource` histories (test/histories/sync-source-*.json, written by test/sync-source.test.ts with
 * RECORD_SYNC_HISTORIES=1) replay against today's workflow code: a change unsafe for running syncs fails here.
 */
it('replays every recorded syncSource history without a determinism violation', { timeout: 120_000 }, async () => {
  const files = (await readdir(dir)).filter((f) => f.startsWith('sync-source-') && f.endsWith('.json')).sort();
  expect(files.length).toBeGreaterThanOrEqual(3);
  for (const file of files) {
    const { workflowId, ...json } = JSON.parse(await readFile(join(dir, file), 'utf8')) as { workflowId: string };
    const history = historyFromJSON(json);
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name, file).toBe('syncSource');
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, workflowId);
  }
});
