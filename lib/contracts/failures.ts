/**
 * The failure catalogue: every ApplicationFailure type the code raises, whether Temporal may retry it, and the HTTP
 * status the API answers when a run fails with it. Retry policies, the API's failure → status mapping and the named
 * type maps (LLM_FAILURES, AGENT_FAILURES, INGEST_FAILURES) are derived from here. Workflow-safe: no Node APIs.
 *
 * The type strings are recorded in histories (test/histories): never rename one.
 */
import { ApplicationFailure } from '@temporalio/common';

export interface FailureSpec {
  readonly type: string;
  /** False: the failure is raised with `nonRetryable` and listed in the retry policies' `nonRetryableErrorTypes`. */
  readonly retryable: boolean;
  /** The API's answer when a run fails with it: 4xx the caller's input, 502 a dependency (the model, a server). */
  readonly status: number;
}

export const FAILURES = {
  /** Model calls through the gateway (lib/llm). A provider's Retry-After becomes the next retry delay. */
  llm: {
    rateLimited: { type: 'llm_rate_limited', retryable: true, status: 502 },
    serverError: { type: 'llm_server_error', retryable: true, status: 502 },
    timeout: { type: 'llm_timeout', retryable: true, status: 502 },
    connection: { type: 'llm_connection', retryable: true, status: 502 },
    badResponse: { type: 'llm_bad_response', retryable: true, status: 502 },
    badRequest: { type: 'llm_bad_request', retryable: false, status: 502 },
    contextLength: { type: 'llm_context_length', retryable: false, status: 502 },
    contentFilter: { type: 'llm_content_filter', retryable: false, status: 502 },
    unauthorized: { type: 'llm_unauthorized', retryable: false, status: 502 },
    forbidden: { type: 'llm_forbidden', retryable: false, status: 502 },
    notFound: { type: 'llm_not_found', retryable: false, status: 502 },
    budgetExceeded: { type: 'llm_budget_exceeded', retryable: false, status: 502 },
    notConfigured: { type: 'llm_not_configured', retryable: false, status: 502 },
  },
  /** Bad input found while retrieving (lib/rag: AppError codes an activity turns into failures). */
  retrieval: {
    collectionNotFound: { type: 'collection_not_found', retryable: false, status: 404 },
    mixedEmbeddingModels: { type: 'mixed_embedding_models', retryable: false, status: 400 },
    invalidRequest: { type: 'invalid_request', retryable: false, status: 400 },
    embeddingDimensionMismatch: { type: 'embedding_dimension_mismatch', retryable: false, status: 400 },
    mixedEmbeddingDimensions: { type: 'mixed_embedding_dimensions', retryable: false, status: 400 },
  },
  /** The LLM judge of grounding checks (activities/answer.ts). */
  judge: {
    notConfigured: { type: 'judge_not_configured', retryable: false, status: 400 },
    invalidOutput: { type: 'judge_invalid_output', retryable: true, status: 502 },
  },
  /** Ingestion of one document (activities/ingest.ts); a failed document is counted, the batch goes on. */
  ingest: {
    fetch: { type: 'fetch_refused', retryable: false, status: 400 },
    parse: { type: 'parse_failed', retryable: false, status: 400 },
    missing: { type: 'document_missing', retryable: false, status: 404 },
    embedding: { type: 'embedding_mismatch', retryable: false, status: 400 },
  },
  /** Agent runs and their tool calls (activities/agent.ts, activities/tools.ts; MCP codes from lib/mcp). */
  agent: {
    toolUnavailable: { type: 'agent_tool_unavailable', retryable: false, status: 400 },
    mcpNotConfigured: { type: 'mcp_not_configured', retryable: false, status: 502 },
    mcpServerUnavailable: { type: 'mcp_server_unavailable', retryable: true, status: 502 },
    mcpStdioNotAllowed: { type: 'mcp_stdio_not_allowed', retryable: false, status: 400 },
    mcpSecretUnresolved: { type: 'mcp_secret_unresolved', retryable: false, status: 400 },
    mcpUrlNotAllowed: { type: 'mcp_url_not_allowed', retryable: false, status: 400 },
    mcpConnectFailed: { type: 'mcp_connect_failed', retryable: true, status: 502 },
  },
  /** Batch jobs (workflows/sync-source.ts, workflows/retention.ts): a source gone, busy or unreadable. */
  batch: {
    sourceMissing: { type: 'source_missing', retryable: false, status: 404 },
    syncRunning: { type: 'sync_running', retryable: false, status: 409 },
    sourceUnreadable: { type: 'source_unreadable', retryable: false, status: 400 },
  },
  /** Eval runs and replays (issue 19): what they were pointed at is gone. */
  eval: {
    datasetMissing: { type: 'dataset_missing', retryable: false, status: 404 },
    answerMissing: { type: 'answer_not_found', retryable: false, status: 404 },
    /** A grounding eval item without its answer or context. */
    groundingCaseMissing: { type: 'grounding_case_missing', retryable: false, status: 400 },
  },
  /** The self-test workflow's own input check (workflows/self-test.ts). */
  selfTest: {
    badInput: { type: 'bad_input', retryable: false, status: 400 },
  },
} as const satisfies Record<string, Record<string, FailureSpec>>;

type Groups = typeof FAILURES;
type GroupName = keyof Groups;
type SpecOf<G extends GroupName> = G extends GroupName ? Groups[G][keyof Groups[G]] : never;
export type FailureType = SpecOf<GroupName>['type'];
type NonRetryableType<G extends GroupName> = Extract<SpecOf<G>, { retryable: false }>['type'];

const typesOf = <G extends GroupName>(group: G) =>
  Object.fromEntries(Object.entries(FAILURES[group]).map(([name, spec]) => [name, spec.type])) as {
    readonly [K in keyof Groups[G]]: Groups[G][K] extends { type: infer T } ? T : never;
  };

/** The catalogue by type. */
export const FAILURE_SPECS: ReadonlyMap<string, FailureSpec> = new Map(
  Object.values(FAILURES).flatMap((group) =>
    Object.values(group).map((spec: FailureSpec) => [spec.type, spec] as const),
  ),
);

export const isFailureType = (type: string | undefined | null): type is FailureType =>
  type != null && FAILURE_SPECS.has(type);

/** The types of these groups that retrying cannot fix, in catalogue order: a retry policy's `nonRetryableErrorTypes`. */
export function nonRetryableTypes<G extends GroupName>(...groups: G[]): Array<NonRetryableType<G>> {
  return groups.flatMap((g) =>
    Object.values(FAILURES[g])
      .filter((spec: FailureSpec) => !spec.retryable)
      .map((spec: FailureSpec) => spec.type),
  ) as Array<NonRetryableType<G>>;
}

export const LLM_FAILURES = typesOf('llm');
export const INGEST_FAILURES = typesOf('ingest');
export const AGENT_FAILURES = typesOf('agent');

export type LlmFailureType = (typeof LLM_FAILURES)[keyof typeof LLM_FAILURES];
export const isLlmFailureType = (type: string | undefined | null): type is LlmFailureType =>
  type != null && Object.values(FAILURES.llm).some((spec) => spec.type === type);

/** LLM failure types that retrying cannot fix (lib/llm/errors.ts raises them as non-retryable too). */
export const NON_RETRYABLE_LLM_FAILURES = nonRetryableTypes('llm');

/**
 * The one way code raises a catalogued failure: the catalogue says whether Temporal may retry it, so a retry policy
 * and the raising code cannot disagree. An AppError becomes one with `toApplicationFailure` (lib/errors.ts).
 */
export function applicationFailure(
  type: FailureType,
  message: string,
  opts: { details?: unknown[]; nextRetryDelayMs?: number } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !FAILURE_SPECS.get(type)!.retryable,
    ...(opts.details ? { details: opts.details } : {}),
    ...(opts.nextRetryDelayMs !== undefined ? { nextRetryDelay: opts.nextRetryDelayMs } : {}),
  });
}

/**
 * The HTTP status for a run that failed with this type. A type outside the catalogue (an unexpected error the SDK
 * named after its class) is the caller's input when the activity marked it non-retryable, else a dependency's fault.
 */
export function failureStatus(type: string | undefined | null, nonRetryable: boolean | null | undefined): number {
  return (type != null ? FAILURE_SPECS.get(type)?.status : undefined) ?? (nonRetryable ? 400 : 502);
}

/**
 * The innermost ApplicationFailure of a failure chain (WorkflowFailedError → ActivityFailure → ApplicationFailure),
 * for its type. For the message alone use the SDK's `rootCause`.
 */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  let found: ApplicationFailure | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    if (e instanceof ApplicationFailure) found = e;
  return found;
}
