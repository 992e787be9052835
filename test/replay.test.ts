import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { expect, inject, it } from 'vitest';

const dir = fileURLToPath(new URL('./histories', import.meta.url));

/**
 * Replays every recorded history (test/histories/<workflow>-<case>.json) against today's workflow code: a change
 * that would break running workflows fails here with a DeterminismViolationError. Record new ones with
 * `npm run record:history`.
 */
it('replays every recorded history without a determinism violation', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  expect(files.length).toBeGreaterThan(0);
  const histories = await Promise.all(
    files.map(async (f) => {
      const { workflowId, ...history } = JSON.parse(await readFile(join(dir, f), 'utf8')) as { workflowId?: string };
      return { workflowId: workflowId ?? f, history: historyFromJSON(history) };
    }),
  );
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: inject('workflowBundlePath') } }, histories)) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
});
