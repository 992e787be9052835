import { Context } from '@temporalio/activity';
import type { LlmCallContext } from '../lib/llm/gateway';

/**
 * Heartbeats every `everyMs` while `fn` runs, so a worker that dies is noticed within the activity's heartbeat
 * timeout (not its whole start-to-close timeout), and a cancellation reaches the activity.
 */
export async function withHeartbeat<T>(fn: () => Promise<T>, everyMs = 1000): Promise<T> {
  const activity = Context.current();
  const timer = setInterval(() => activity.heartbeat(), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The running activity's identity for usage records, and its cancellation signal for the HTTP request. */
export function llmCallContext(tenantId: string): LlmCallContext {
  const activity = Context.current();
  const { workflowExecution, activityId, attempt } = activity.info;
  return {
    tenantId,
    workflowId: workflowExecution?.workflowId,
    runId: workflowExecution?.runId,
    activityId,
    attempt,
    signal: activity.cancellationSignal,
  };
}

/**
 * A model call from an activity (llmCallContext). Cancellation only reaches an activity through heartbeats, so the
 * call heartbeats while it waits.
 */
export function inLlmActivity<T>(tenantId: string, fn: (ctx: LlmCallContext) => Promise<T>): Promise<T> {
  const ctx = llmCallContext(tenantId);
  return withHeartbeat(() => fn(ctx));
}
