import { Context } from '@temporalio/activity';

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
