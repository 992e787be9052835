import { Context } from '@temporalio/activity';
import type { LlmCallContext, LlmGateway } from '../lib/llm/gateway';
import { withHeartbeat } from './heartbeat';
import type { ChatMessage, EmbedResult, GenerateOptions, GenerateResult, LlmPurpose } from '../lib/llm/types';

export interface GenerateTextInput {
  tenantId: string;
  purpose: LlmPurpose;
  messages: ChatMessage[];
  model?: string;
  options?: Omit<GenerateOptions, 'onToken' | 'stream'>;
}

export interface EmbedTextsInput {
  tenantId: string;
  texts: string[];
  model?: string;
}

/**
 * The activity's identity for usage records, and its cancellation signal for the HTTP request. Cancellation only
 * reaches an activity through heartbeats, so the call heartbeats while it waits.
 */
function withActivityContext<T>(tenantId: string, fn: (ctx: LlmCallContext) => Promise<T>): Promise<T> {
  const activity = Context.current();
  const { workflowExecution, activityId, attempt } = activity.info;
  return withHeartbeat(() =>
    fn({
      tenantId,
      workflowId: workflowExecution?.workflowId,
      runId: workflowExecution?.runId,
      activityId,
      attempt,
      signal: activity.cancellationSignal,
    }),
  );
}

export function createLlmActivities({ llm }: { llm: LlmGateway }) {
  return {
    async generateText(input: GenerateTextInput): Promise<GenerateResult> {
      return withActivityContext(input.tenantId, (ctx) =>
        llm.generate(ctx, input.messages, { ...input.options, purpose: input.purpose, model: input.model }),
      );
    },
    async embedTexts(input: EmbedTextsInput): Promise<EmbedResult> {
      return withActivityContext(input.tenantId, (ctx) => llm.embed(ctx, input.texts, { model: input.model }));
    },
  };
}
