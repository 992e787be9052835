/**
 * The replay gate's negative control: today's workflows, except `selfTest`, which waits on a timer before its first
 * probe, a change that is not safe for running workflows. A local export shadows the star export of the same name.
 */
import { sleep } from '@temporalio/workflow';
import { selfTest as current } from '../../workflows/self-test';
import type { SelfTestInput, SelfTestResult } from '../../lib/contracts';

export * from '../../workflows';

export async function selfTest(input: SelfTestInput): Promise<SelfTestResult> {
  await sleep('1 second');
  return current(input);
}
