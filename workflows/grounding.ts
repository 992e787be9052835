import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { GroundingCheckInput, GroundingReport } from '../lib/contracts';
import { longModelStep } from './policies';

const { groundAnswer } = proxyActivities<ReturnType<typeof createActivities>>(longModelStep);

/** A grounding check on its own, for answers produced elsewhere (POST /v1/grounding). */
export async function groundingCheck(input: GroundingCheckInput): Promise<GroundingReport> {
  return groundAnswer(input);
}
