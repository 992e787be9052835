import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { isAnswerResult, type AnswerRecord, type AnswerResult, type ReviewInput } from '../api/answer-types';
import { followAnswerEvents, getAnswer, reviewAnswer } from '../api/answers';
import { ApiError, isAborted, toApiError } from '../api/request';
import { applyAnswerEvent, emptyLive, type LiveAnswer } from '../lib/answer-stream';
import { useSessionStore } from './session';

/**
 * One answer: its record, and while it runs, its event stream (phases, steps, tokens) folded into `live`. The
 * stream is opened once per answer and resumes by itself after a dropped connection; the record is read again when
 * the stream ends, so what stays on screen is the stored result.
 */
export const useAnswerStore = defineStore('answer', () => {
  const answerId = ref<string | null>(null);
  const record = ref<AnswerRecord | null>(null);
  const error = ref<ApiError | null>(null);
  const loading = ref(false);
  const updatedAt = ref<Date | null>(null);
  const live = ref<LiveAnswer>(emptyLive());
  const streaming = ref(false);
  const streamError = ref<ApiError | null>(null);
  const reviewing = ref(false);
  const reviewError = ref<ApiError | null>(null);
  let stream: AbortController | null = null;
  let inflight: Promise<void> | null = null;

  const isOpen = computed(() => record.value?.status === 'running' || record.value?.status === 'pending_review');
  /** The stored result, or the streamed one until the record catches up. */
  const result = computed<AnswerResult | null>(() =>
    isAnswerResult(record.value?.result) ? record.value.result : live.value.result,
  );
  const failure = computed(() => {
    const r = record.value?.result;
    if (r && 'error' in r) return r.error;
    return live.value.failure;
  });

  function reset(): void {
    stream?.abort();
    stream = null;
    inflight = null;
    record.value = null;
    error.value = null;
    loading.value = false;
    updatedAt.value = null;
    live.value = emptyLive();
    streaming.value = false;
    streamError.value = null;
    reviewing.value = false;
    reviewError.value = null;
  }

  /** Shows answer `id`: reads its record and, while it runs, follows its events. */
  async function open(id: string): Promise<void> {
    if (answerId.value !== id) {
      reset();
      answerId.value = id;
    }
    await load();
    if (answerId.value === id && isOpen.value) follow();
  }

  /** A record already in hand (the one starting the answer returned): shown at once, before `open` reads it again. */
  function show(next: AnswerRecord): void {
    if (answerId.value !== next.id) {
      reset();
      answerId.value = next.id;
    }
    record.value = next;
  }

  function load(): Promise<void> {
    const id = answerId.value;
    if (!id) return Promise.resolve();
    inflight ??= (async () => {
      loading.value = true;
      try {
        const next = await getAnswer(id);
        if (answerId.value !== id) return;
        record.value = next;
        error.value = null;
        updatedAt.value = new Date();
      } catch (err) {
        if (answerId.value === id && !isAborted(err)) error.value = toApiError(err);
      } finally {
        if (answerId.value === id) {
          loading.value = false;
          inflight = null;
        }
      }
    })();
    return inflight;
  }

  /** Opens the event stream from its start (the tokens so far replay), unless one is open already. */
  function follow(): void {
    const id = answerId.value;
    if (!id || streaming.value) return;
    const controller = new AbortController();
    stream = controller;
    streaming.value = true;
    streamError.value = null;
    live.value = emptyLive();
    followAnswerEvents(id, {
      signal: controller.signal,
      onEvent: (event) => {
        if (stream !== controller) return;
        live.value = applyAnswerEvent(live.value, event);
        // The record now says pending_review and carries the held answer to review.
        if (event.type === 'review_pending') void load();
      },
    })
      .then(() => (stream === controller ? load() : undefined))
      .catch((err: unknown) => {
        if (stream === controller && !isAborted(err)) streamError.value = toApiError(err);
      })
      .finally(() => {
        if (stream === controller) {
          stream = null;
          streaming.value = false;
        }
      });
  }

  async function review(decision: ReviewInput['decision'], note: string): Promise<void> {
    const id = answerId.value;
    if (!id || reviewing.value) return;
    reviewing.value = true;
    reviewError.value = null;
    try {
      const next = await reviewAnswer(id, { decision, ...(note.trim() ? { note: note.trim() } : {}) });
      if (answerId.value === id) record.value = next;
      await load();
    } catch (err) {
      if (answerId.value === id) reviewError.value = toApiError(err);
    } finally {
      if (answerId.value === id) reviewing.value = false;
    }
  }

  /** Leaving the page: the stream closes; the record stays for a quick way back. */
  function stop(): void {
    stream?.abort();
    stream = null;
    streaming.value = false;
  }

  const session = useSessionStore();
  watch(
    () => session.identity,
    () => {
      reset();
      answerId.value = null;
    },
  );

  return {
    answerId,
    record,
    error,
    loading,
    updatedAt,
    live,
    streaming,
    streamError,
    reviewing,
    reviewError,
    isOpen,
    result,
    failure,
    open,
    show,
    load,
    follow,
    review,
    stop,
  };
});
