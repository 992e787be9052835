import { onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue';

/**
 * Runs `task` every `intervalMs` while `active` holds. The next tick is scheduled only after the previous task
 * settles, so requests never overlap; ticks are skipped while the tab is hidden.
 */
export function usePolling(task: () => Promise<unknown>, intervalMs: number, active: MaybeRefOrGetter<boolean>): void {
  let timer: number | undefined;
  let running = false;
  let disposed = false;

  const clear = () => {
    if (timer !== undefined) window.clearTimeout(timer);
    timer = undefined;
  };
  const schedule = () => {
    clear();
    if (!disposed && toValue(active)) timer = window.setTimeout(tick, intervalMs);
  };
  const tick = async () => {
    timer = undefined;
    if (running) return;
    if (document.visibilityState === 'hidden') return schedule();
    running = true;
    try {
      await task();
    } catch {
      // the task reports its own errors; polling carries on
    } finally {
      running = false;
      schedule();
    }
  };

  watch(
    () => toValue(active),
    (on) => (on ? schedule() : clear()),
    { immediate: true },
  );
  onScopeDispose(() => {
    disposed = true;
    clear();
  });
}
