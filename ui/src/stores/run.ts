import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { ApiError, isAborted, toApiError } from '../api/request';
import { cancelRun, getRun, getRunSteps, getRunTrace } from '../api/runs';
import type { RunDetail, Step, Trace } from '../api/types';
import { useSessionStore } from './session';

/** One run's detail, steps and trace, loaded together; a load in flight is never doubled. */
export const useRunStore = defineStore('run', () => {
  const workflowId = ref<string | null>(null);
  const detail = ref<RunDetail | null>(null);
  const steps = ref<Step[] | null>(null);
  const trace = ref<Trace | null>(null);
  const detailError = ref<ApiError | null>(null);
  const stepsError = ref<ApiError | null>(null);
  const traceError = ref<ApiError | null>(null);
  const loading = ref(false);
  const updatedAt = ref<Date | null>(null);
  const cancelling = ref(false);
  const cancelRequested = ref(false);
  const cancelError = ref<ApiError | null>(null);
  let inflight: AbortController | null = null;

  const isRunning = computed(() => detail.value?.status === 'running');

  function reset(): void {
    inflight?.abort();
    inflight = null;
    detail.value = null;
    steps.value = null;
    trace.value = null;
    detailError.value = null;
    stepsError.value = null;
    traceError.value = null;
    loading.value = false;
    updatedAt.value = null;
    cancelling.value = false;
    cancelRequested.value = false;
    cancelError.value = null;
  }

  async function load(id: string): Promise<void> {
    if (workflowId.value !== id) {
      reset();
      workflowId.value = id;
    }
    if (inflight) return;
    const controller = new AbortController();
    inflight = controller;
    loading.value = true;
    try {
      const [d, s, t] = await Promise.allSettled([
        getRun(id, controller.signal),
        getRunSteps(id, controller.signal),
        getRunTrace(id, controller.signal),
      ]);
      if (inflight !== controller) return;
      if (d.status === 'fulfilled') {
        detail.value = d.value;
        detailError.value = null;
      } else if (!isAborted(d.reason)) detailError.value = toApiError(d.reason);
      if (s.status === 'fulfilled') {
        steps.value = s.value.steps;
        stepsError.value = null;
      } else if (!isAborted(s.reason)) stepsError.value = toApiError(s.reason);
      if (t.status === 'fulfilled') {
        trace.value = t.value;
        traceError.value = null;
      } else if (!isAborted(t.reason)) traceError.value = toApiError(t.reason);
      updatedAt.value = new Date();
    } finally {
      if (inflight === controller) {
        inflight = null;
        loading.value = false;
      }
    }
  }

  async function cancel(): Promise<void> {
    const id = workflowId.value;
    if (!id || cancelling.value) return;
    cancelling.value = true;
    cancelError.value = null;
    try {
      await cancelRun(id);
      if (workflowId.value !== id) return;
      cancelRequested.value = true;
      await load(id);
    } catch (err) {
      if (workflowId.value === id) cancelError.value = toApiError(err);
    } finally {
      if (workflowId.value === id) cancelling.value = false;
    }
  }

  const session = useSessionStore();
  watch(
    () => session.identity,
    () => {
      reset();
      workflowId.value = null;
    },
  );

  return {
    workflowId,
    detail,
    steps,
    trace,
    detailError,
    stepsError,
    traceError,
    loading,
    updatedAt,
    isRunning,
    cancelling,
    cancelRequested,
    cancelError,
    load,
    cancel,
  };
});
