import { defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  applicationFailure,
  FAILURES,
  SELF_TEST_LIMITS,
  type SelfTestInput,
  type SelfTestResult,
} from '../lib/contracts';
import { probeStep } from './policies';

const { writeProbe } = proxyActivities<ReturnType<typeof createActivities>>(probeStep);

export const selfTestProgressQuery = defineQuery<{ done: number; total: number }>('selfTestProgress');

/**
 * Proves the stack end to end: each probe is an activity that writes one row idempotently. An operator can hold
 * each probe open (holdMs) to rehearse killing a worker mid-activity.
 */
export async function selfTest(input: SelfTestInput): Promise<SelfTestResult> {
  if (!Number.isInteger(input.probes) || input.probes < 1 || input.probes > SELF_TEST_LIMITS.maxProbes) {
    throw applicationFailure(
      FAILURES.selfTest.badInput.type,
      `probes must be an integer from 1 to ${SELF_TEST_LIMITS.maxProbes}`,
    );
  }
  const result: SelfTestResult = { probesWritten: 0, probesAlreadyPresent: 0, attempts: [] };
  setHandler(selfTestProgressQuery, () => ({ done: result.attempts.length, total: input.probes }));
  for (let index = 0; index < input.probes; index++) {
    const probe = await writeProbe({ tenantId: input.tenantId, index, holdMs: input.holdMs, note: input.note });
    if (probe.inserted) result.probesWritten++;
    else result.probesAlreadyPresent++;
    result.attempts.push(probe.attempt);
  }
  return result;
}
