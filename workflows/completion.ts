import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { GenerateTextInput } from '../activities/llm';
import { NON_RETRYABLE_LLM_FAILURES } from '../lib/contracts';
import type { GenerateResult } from '../lib/contracts';

const { generateText } = proxyActivities<ReturnType<typeof createActivities>>({
  // The gateway's own per-call timeout is shorter; this bounds an attempt including recording its usage.
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [...NON_RETRYABLE_LLM_FAILURES],
  },
});

/**
 * One model call as a durable run (the playground and the API's completions): retried on rate limits and
 * provider faults with backoff (honouring Retry-After), every attempt's usage and cost recorded.
 */
export async function completion(input: GenerateTextInput): Promise<GenerateResult> {
  return generateText(input);
}
