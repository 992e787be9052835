import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { AnswerRecord, AskInput, Collection } from '../api/answer-types';
import { askQuestion, listAnswers, listCollections } from '../api/answers';
import { ApiError, isAborted, toApiError } from '../api/request';
import { useSessionStore } from './session';

const PAGE_SIZE = 50;

/** The answers list (newest first, paged by `before`) and the collections the ask form offers. */
export const useAnswersStore = defineStore('answers', () => {
  const answers = ref<AnswerRecord[]>([]);
  const loaded = ref(false);
  const busy = ref<'load' | 'more' | null>(null);
  const error = ref<ApiError | null>(null);
  const hasMore = ref(false);
  const updatedAt = ref<Date | null>(null);
  const collections = ref<Collection[]>([]);
  const collectionsLoaded = ref(false);
  const collectionsError = ref<ApiError | null>(null);
  let pages = 0;
  let controller: AbortController | null = null;

  const anyOpen = computed(() => answers.value.some((a) => a.status === 'running' || a.status === 'pending_review'));

  /** Re-reads the newest page; rows further down (from "Load more") stay, deduplicated. */
  async function load(): Promise<void> {
    if (busy.value) return;
    busy.value = 'load';
    controller = new AbortController();
    try {
      const page = await listAnswers({ limit: PAGE_SIZE }, controller.signal);
      const fresh = new Set(page.answers.map((a) => a.id));
      answers.value = pages > 1 ? [...page.answers, ...answers.value.filter((a) => !fresh.has(a.id))] : page.answers;
      if (pages <= 1) hasMore.value = page.answers.length === PAGE_SIZE;
      pages = Math.max(pages, 1);
      loaded.value = true;
      error.value = null;
      updatedAt.value = new Date();
    } catch (err) {
      if (!isAborted(err)) error.value = toApiError(err);
    } finally {
      busy.value = null;
      controller = null;
    }
  }

  async function loadMore(): Promise<void> {
    const last = answers.value.at(-1);
    if (busy.value || !last || !hasMore.value) return;
    busy.value = 'more';
    controller = new AbortController();
    try {
      const page = await listAnswers(
        { limit: PAGE_SIZE, before: new Date(last.createdAt).toISOString() },
        controller.signal,
      );
      const have = new Set(answers.value.map((a) => a.id));
      answers.value = [...answers.value, ...page.answers.filter((a) => !have.has(a.id))];
      hasMore.value = page.answers.length === PAGE_SIZE;
      pages += 1;
      error.value = null;
    } catch (err) {
      if (!isAborted(err)) error.value = toApiError(err);
    } finally {
      busy.value = null;
      controller = null;
    }
  }

  async function loadCollections(): Promise<void> {
    try {
      collections.value = (await listCollections()).collections;
      collectionsError.value = null;
    } catch (err) {
      collectionsError.value = toApiError(err);
    } finally {
      collectionsLoaded.value = true;
    }
  }

  function ask(input: AskInput): Promise<AnswerRecord> {
    return askQuestion(input);
  }

  function clear(): void {
    controller?.abort();
    controller = null;
    busy.value = null;
    answers.value = [];
    loaded.value = false;
    error.value = null;
    hasMore.value = false;
    updatedAt.value = null;
    collections.value = [];
    collectionsLoaded.value = false;
    collectionsError.value = null;
    pages = 0;
  }

  // Another key may be another tenant: never show its predecessor's answers.
  const session = useSessionStore();
  watch(() => session.identity, clear);

  return {
    answers,
    loaded,
    busy,
    error,
    hasMore,
    updatedAt,
    anyOpen,
    collections,
    collectionsLoaded,
    collectionsError,
    load,
    loadMore,
    loadCollections,
    ask,
    clear,
  };
});
