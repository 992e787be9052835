import { request } from './request';
import type {
  CancelRequested,
  ChildRunPage,
  RunDetail,
  RunFilters,
  RunPage,
  SelfTestStarted,
  Step,
  Trace,
} from './types';

/** Workflow ids contain colons (and may contain slashes): always one encoded path segment. */
const runPath = (workflowId: string) => `/v1/runs/${encodeURIComponent(workflowId)}`;

export function listRuns(
  filters: RunFilters,
  page: { pageSize?: number; pageToken?: string | null } = {},
  signal?: AbortSignal,
): Promise<RunPage> {
  return request<RunPage>('/v1/runs', {
    query: { ...filters, pageSize: page.pageSize, pageToken: page.pageToken },
    signal,
  });
}

export function getRun(workflowId: string, signal?: AbortSignal): Promise<RunDetail> {
  return request<RunDetail>(runPath(workflowId), { signal });
}

export function getRunChildren(
  workflowId: string,
  page: { pageSize?: number; pageToken?: string | null } = {},
  signal?: AbortSignal,
): Promise<ChildRunPage> {
  return request<ChildRunPage>(`${runPath(workflowId)}/children`, {
    query: { pageSize: page.pageSize, pageToken: page.pageToken },
    signal,
  });
}

export function getRunSteps(workflowId: string, signal?: AbortSignal): Promise<{ steps: Step[] }> {
  return request<{ steps: Step[] }>(`${runPath(workflowId)}/steps`, { signal });
}

export function getRunTrace(workflowId: string, signal?: AbortSignal): Promise<Trace> {
  return request<Trace>(`${runPath(workflowId)}/trace`, { signal });
}

export function cancelRun(workflowId: string): Promise<CancelRequested> {
  return request<CancelRequested>(`${runPath(workflowId)}/cancel`, { method: 'POST', body: {} });
}

export function startSelfTest(options: { probes?: number; holdMs?: number } = {}): Promise<SelfTestStarted> {
  return request<SelfTestStarted>('/v1/system/self-test', { method: 'POST', body: options });
}
