import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { ApiError, isAborted, toApiError } from '../api/request';
import { listRuns, startSelfTest } from '../api/runs';
import type { RunFilters, RunSummary, SelfTestStarted } from '../api/types';
import { sameFilters } from '../lib/run-filters';
import { useSessionStore } from './session';

const PAGE_SIZE = 50;
const rowKey = (r: RunSummary) => `${r.workflowId}\u0000${r.runId}`;

type Busy = 'load' | 'refresh' | 'more' | null;

/** The runs list: one request at a time; a newer load aborts an older one, a refresh never overlaps anything. */
export const useRunsStore = defineStore('runs', () => {
  const runs = ref<RunSummary[]>([]);
  const nextPageToken = ref<string | null>(null);
  const filters = ref<RunFilters>({});
  const loaded = ref(false);
  const busy = ref<Busy>(null);
  const error = ref<ApiError | null>(null);
  const updatedAt = ref<Date | null>(null);
  let pagesLoaded = 0;
  let generation = 0;
  let controller: AbortController | null = null;

  function begin(kind: Exclude<Busy, null>) {
    controller?.abort();
    controller = new AbortController();
    const id = ++generation;
    busy.value = kind;
    const own = controller;
    return {
      signal: own.signal,
      current: () => id === generation,
      finish: () => {
        if (id !== generation) return;
        busy.value = null;
        controller = null;
      },
    };
  }

  function fail(err: unknown): void {
    if (!isAborted(err)) error.value = toApiError(err);
  }

  /** Loads the first page for `next`; with unchanged filters the rows on screen stay until the answer arrives. */
  async function load(next: RunFilters): Promise<void> {
    const changed = !loaded.value || !sameFilters(next, filters.value);
    if (!changed) return refresh(true);
    filters.value = { ...next };
    runs.value = [];
    nextPageToken.value = null;
    loaded.value = false;
    pagesLoaded = 0;
    error.value = null;
    const op = begin('load');
    try {
      const page = await listRuns(next, { pageSize: PAGE_SIZE }, op.signal);
      if (!op.current()) return;
      runs.value = page.runs;
      nextPageToken.value = page.nextPageToken;
      pagesLoaded = 1;
      loaded.value = true;
      updatedAt.value = new Date();
    } catch (err) {
      if (op.current()) fail(err);
    } finally {
      op.finish();
    }
  }

  /**
   * Re-reads the first page. Rows from further pages stay below it (deduplicated), with their page token, so
   * live refresh does not throw away what "Load more" fetched.
   */
  async function refresh(force = false): Promise<void> {
    if (busy.value && !force) return;
    const op = begin('refresh');
    try {
      const page = await listRuns(filters.value, { pageSize: PAGE_SIZE }, op.signal);
      if (!op.current()) return;
      if (pagesLoaded <= 1) {
        runs.value = page.runs;
        nextPageToken.value = page.nextPageToken;
        pagesLoaded = 1;
      } else {
        const fresh = new Set(page.runs.map(rowKey));
        runs.value = [...page.runs, ...runs.value.filter((r) => !fresh.has(rowKey(r)))];
      }
      loaded.value = true;
      error.value = null;
      updatedAt.value = new Date();
    } catch (err) {
      if (op.current()) fail(err);
    } finally {
      op.finish();
    }
  }

  async function loadMore(): Promise<void> {
    const token = nextPageToken.value;
    if (!token || busy.value === 'load' || busy.value === 'more') return;
    const op = begin('more'); // a live refresh in flight is cheaper to lose than the click
    try {
      const page = await listRuns(filters.value, { pageSize: PAGE_SIZE, pageToken: token }, op.signal);
      if (!op.current()) return;
      const have = new Set(runs.value.map(rowKey));
      runs.value = [...runs.value, ...page.runs.filter((r) => !have.has(rowKey(r)))];
      nextPageToken.value = page.nextPageToken;
      pagesLoaded += 1;
      error.value = null;
    } catch (err) {
      if (op.current()) fail(err);
    } finally {
      op.finish();
    }
  }

  async function startSelfTestRun(): Promise<SelfTestStarted> {
    const started = await startSelfTest();
    await refresh(true);
    return started;
  }

  function clear(): void {
    controller?.abort();
    controller = null;
    generation += 1;
    busy.value = null;
    runs.value = [];
    nextPageToken.value = null;
    filters.value = {};
    loaded.value = false;
    error.value = null;
    updatedAt.value = null;
    pagesLoaded = 0;
  }

  // Another key may be another tenant: never show its predecessor's runs.
  const session = useSessionStore();
  watch(() => session.identity, clear);

  return {
    runs,
    nextPageToken,
    filters,
    loaded,
    busy,
    error,
    updatedAt,
    load,
    refresh,
    loadMore,
    startSelfTestRun,
    clear,
  };
});
