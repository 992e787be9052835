import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { EmbedTextsInput, GenerateTextInput } from '../activities/llm';
import type { GenerateResult } from '../lib/contracts';
import { gatewayCallStep } from './policies';

type Activities = ReturnType<typeof createActivities>;
const { generateText, embedTexts } = proxyActivities<Activities>(gatewayCallStep);

/**
 * One model call as a durable run (the playground and the API's completions): retried on rate limits and
 * provider faults with backoff (honouring Retry-After), every attempt's usage and cost recorded.
 */
export async function completion(input: GenerateTextInput): Promise<GenerateResult> {
  return generateText(input);
}

/**
 * Texts embedded with one model as a durable run (the OpenAI-compatible `/embeddings`): retried and recorded like
 * a completion, and listed among the tenant's runs.
 */
export async function embedding(input: EmbedTextsInput): Promise<Awaited<ReturnType<Activities['embedTexts']>>> {
  return embedTexts(input);
}
