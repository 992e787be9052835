// Workflow code of the orchestration benchmark, bundled by the benchmark's own worker (bench/orchestration/run.ts).
// Deterministic sandbox rules apply: only @temporalio/workflow and type-only imports.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { BenchActivities } from './activities';

// One attempt only: a broken benchmark should fail, not retry its way into the numbers.
const retry = { maximumAttempts: 1 };

const regularActivities = proxyActivities<BenchActivities>({ startToCloseTimeout: '30 seconds', retry });
const localActivities = proxyLocalActivities<BenchActivities>({ startToCloseTimeout: '30 seconds', retry });

/**
 * Calls `noop(i)` n times, one after the other, as regular activities (each one scheduled on the server and
 * dispatched to a worker) or as local activities (run inside the workflow task's worker, recorded as a marker).
 * Returns the sum of the results so the caller can check every call happened.
 */
export async function benchActivities(n: number, local: boolean): Promise<number> {
  const { noop } = local ? localActivities : regularActivities;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await noop(i);
  return sum;
}
