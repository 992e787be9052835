import type { temporal } from '@temporalio/proto';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { Step } from '../../lib/contracts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A step as the history shows it; its attempts' detail comes from spans (RunsService.steps). */
export type HistoryStep = Omit<Step, 'attemptsDetail'>;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const retryStates: Record<number, string> = {
  1: 'in_progress',
  2: 'non_retryable_failure',
  3: 'timeout',
  4: 'maximum_attempts_reached',
  5: 'retry_policy_not_set',
  6: 'internal_server_error',
  7: 'cancel_requested',
};

/**
 * The activity timeline of a run, from its history. The server records only an activity's last attempt (the
 * started event carries the attempt number and the previous attempt's failure), so earlier attempts appear as a
 * count and a last failure; their spans add detail per attempt.
 */
export function stepsFromHistory(events: HistoryEvent[]): HistoryStep[] {
  const bySchedule = new Map<string, HistoryStep>();
  const order: HistoryStep[] = [];
  let runCanceledAt: string | null = null;
  for (const e of events) {
    const id = String(e.eventId);
    const at = optionalTsToMs(e.eventTime);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const step: HistoryStep = {
        activityId: a.activityId ?? id,
        activityType: a.activityType?.name ?? 'unknown',
        status: 'scheduled',
        scheduledTime: iso(at)!,
        startedTime: null,
        closeTime: null,
        durationMs: null,
        attempts: 0,
      };
      bySchedule.set(id, step);
      order.push(step);
      continue;
    }
    const ref =
      e.activityTaskStartedEventAttributes ??
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (e.workflowExecutionCanceledEventAttributes) runCanceledAt = iso(at);
    if (!ref) continue;
    const step = bySchedule.get(String(ref.scheduledEventId));
    if (!step) continue;
    if (e.activityTaskStartedEventAttributes) {
      const s = e.activityTaskStartedEventAttributes;
      step.status = 'running';
      step.startedTime = iso(at);
      step.attempts = s.attempt ?? 1;
      if (s.lastFailure?.message) step.lastFailure = s.lastFailure.message;
      continue;
    }
    step.closeTime = iso(at);
    step.durationMs = at !== undefined ? at - Date.parse(step.scheduledTime) : null;
    if (e.activityTaskCompletedEventAttributes) step.status = 'completed';
    if (e.activityTaskFailedEventAttributes) {
      step.status = 'failed';
      step.lastFailure = e.activityTaskFailedEventAttributes.failure?.message ?? step.lastFailure;
      step.retryState = retryStates[e.activityTaskFailedEventAttributes.retryState ?? 0];
    }
    if (e.activityTaskTimedOutEventAttributes) {
      step.status = 'timed_out';
      step.lastFailure = e.activityTaskTimedOutEventAttributes.failure?.message ?? step.lastFailure;
      step.retryState = retryStates[e.activityTaskTimedOutEventAttributes.retryState ?? 0];
    }
    if (e.activityTaskCanceledEventAttributes) step.status = 'canceled';
  }
  // A canceled run does not wait for its activities (cancellation type TRY_CANCEL): a step still open when the run
  // was canceled was canceled with it, not left running.
  if (runCanceledAt) {
    for (const step of order) {
      if (step.closeTime) continue;
      step.status = 'canceled';
      step.closeTime = runCanceledAt;
      step.durationMs = Date.parse(runCanceledAt) - Date.parse(step.scheduledTime);
    }
  }
  return order;
}
