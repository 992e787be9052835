/**
 * Workflow-safe contracts shared by workflows, activities, workers and the API: no Node APIs here.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export * from './answers';

/** Custom search attributes, registered on the dev server at start (`--search-attribute`) and set on every run. */
export const SEARCH_ATTRIBUTES = {
  TenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  RunKind: defineSearchAttributeKey('RunKind', SearchAttributeType.KEYWORD),
  CollectionId: defineSearchAttributeKey('CollectionId', SearchAttributeType.KEYWORD),
} as const;

export type RunKind = 'system' | 'llm' | 'ingest' | 'answer' | 'grounding' | 'search' | 'agent' | 'batch';

/** Task queue names are derived from one configured prefix so several stacks can share a namespace. */
export const taskQueues = (prefix: string) => ({
  /** Workflows and the default activities. */
  main: prefix,
  /** Tool calls of agents (MCP), scaled separately. */
  tools: `${prefix}-tools`,
});

/** Business-key workflow ids (DESIGN.md: `answer:<tenant>:<uuid>` and so on). */
export const workflowIds = {
  selfTest: (tenantId: string, id: string) => `selftest:${tenantId}:${id}`,
  completion: (tenantId: string, id: string) => `completion:${tenantId}:${id}`,
  ingest: (tenantId: string, collectionId: string, id: string) => `ingest:${tenantId}:${collectionId}:${id}`,
  answer: (tenantId: string, id: string) => `answer:${tenantId}:${id}`,
  grounding: (tenantId: string, id: string) => `grounding:${tenantId}:${id}`,
  search: (tenantId: string, id: string) => `search:${tenantId}:${id}`,
};

export interface SelfTestInput {
  tenantId: string;
  /** How many probe rows to write, one activity each. */
  probes: number;
  /**
   * How long each probe activity holds after its write, heartbeating. Lets an operator rehearse failover: kill
   * the worker while a probe holds and watch another worker finish the run without a duplicate row.
   */
  holdMs: number;
  note?: string;
}

export interface SelfTestResult {
  probesWritten: number;
  /** Rows that already existed because an earlier attempt wrote them before its worker died. */
  probesAlreadyPresent: number;
  attempts: number[];
}

export const SELF_TEST_LIMITS = { maxProbes: 50, maxHoldMs: 60_000 } as const;

/** LLM failure types that retrying cannot fix (lib/llm/errors.ts sets them as non-retryable too). */
export const NON_RETRYABLE_LLM_FAILURES = [
  'llm_bad_request',
  'llm_context_length',
  'llm_content_filter',
  'llm_unauthorized',
  'llm_forbidden',
  'llm_not_found',
  'llm_budget_exceeded',
  'llm_not_configured',
] as const;

export interface IngestCollectionInput {
  tenantId: string;
  collectionId: string;
  documentIds: string[];
  concurrency: number;
  /** Carried across continue-as-new. */
  progress?: IngestProgress;
}

export interface IngestProgress {
  total: number;
  done: number;
  skipped: number;
  failed: number;
  chunks: number;
  /** The most recent failures (capped), with their reasons. */
  failures: Array<{ documentId: string; reason: string }>;
}

export interface IngestDocumentResult {
  documentId: string;
  status: 'ready' | 'skipped' | 'failed';
  chunks: number;
  reason?: string;
}
