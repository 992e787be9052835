import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { GenerateTextInput } from '../activities/llm';
import type { GenerateResult } from '../lib/contracts';
import { gatewayCallStep } from './policies';

const { generateText } = proxyActivities<ReturnType<typeof createActivities>>(gatewayCallStep);

/**
 * One model call as a durable run (the playground and the API's completions): retried on rate limits and
 * provider faults with backoff (honouring Retry-After), every attempt's usage and cost recorded.
 */
export async function completion(input: GenerateTextInput): Promise<GenerateResult> {
  return generateText(input);
}
