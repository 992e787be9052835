import {
  ActivityCancellationType,
  type ActivityOptions,
  type LocalActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import { NON_RETRYABLE_LLM_FAILURES, nonRetryableTypes, type AgentTool } from '../lib/contracts';

/**
 * The retry and timeout presets of every activity a workflow schedules, one name per kind of step. The failures a
 * step must not retry come from the catalogue (lib/contracts/failures.ts), so a policy and the code raising the
 * failure cannot disagree. Workflow-safe: imported by workflow code only.
 */

// ---- Model calls as runs: the completion workflow and an agent's turn -------------------------------------------

/**
 * One call through the LLM gateway. The gateway's own per-call timeout is shorter; this bounds an attempt including
 * recording its usage. Rate limits and provider faults back off up to a minute (the gateway honours Retry-After).
 */
export const gatewayCallStep: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [...NON_RETRYABLE_LLM_FAILURES],
  },
};

// ---- Answers, search and grounding ------------------------------------------------------------------------------

/** Every step of an answer: what the model, the retrieval or the judge refuse for good is not retried. */
const answerRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 6,
  nonRetryableErrorTypes: nonRetryableTypes('llm', 'retrieval', 'judge'),
};

/** Rewrite, embed, rerank. Model calls heartbeat every second: a dead worker is noticed in 20 s, the step retried elsewhere. */
export const quickModelStep: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: answerRetry,
};

/** Generation and grounding: longer calls, the same heartbeat. */
export const longModelStep: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: answerRetry,
};

/**
 * Database-only steps (activities/index.ts `DATABASE_STEPS`): they heartbeat every second while they run, so a worker
 * killed mid-step is noticed in 20 s and the step retried elsewhere, while a slow query that is still running keeps
 * heartbeating and is never cut short before its two minutes.
 */
export const databaseStep: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: answerRetry,
};

/**
 * A whole search (embedding and retrieval, read-only) as one local activity: it runs inside the search workflow's
 * first task, so a search pays no task-queue round trip per step. The weaker guarantee of a local activity (a worker
 * that dies mid-search makes the workflow task time out, and the search runs again from the start) costs nothing for a
 * read. What the model or the retrieval refuse for good is not retried.
 */
export const searchStep: LocalActivityOptions = { startToCloseTimeout: '1 minute', retry: answerRetry };

/** The answer's run events, one batch per phase change: a local activity, so a transition costs no task-queue round trip. */
export const localStep: LocalActivityOptions = { startToCloseTimeout: '15 seconds', retry: { maximumAttempts: 5 } };

// ---- Batch jobs -------------------------------------------------------------------------------------------------

/**
 * One kind's delete: batches of short transactions that heartbeat, so a dead worker is noticed in a minute and the
 * step runs again elsewhere; it deletes what is left below the same cutoff.
 */
export const retentionDeleteStep: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
};

// ---- Agents -----------------------------------------------------------------------------------------------------

/** Run events of an agent: keyed inserts, so an attempt repeated after its insert writes nothing twice. */
export const agentEventStep: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 10 },
};

/** Pinning an agent's tools when the run starts: a catalogued agent failure (a tool unavailable, no server) is final. */
export const toolResolveStep: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: nonRetryableTypes('agent') },
};

/** Checking a knowledge-base tool call (arguments, the tenant's collections) and creating its answer record. */
export const kbToolPlanStep: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
};

/**
 * One MCP tool call, on the `tools` queue (the caller adds `taskQueue`). Listing the live definition and writing the
 * ledger come on top of the call itself; attempts are the tool's own setting; a cancelled run waits until the call
 * has stopped.
 */
export function toolCallStep(tool: Pick<AgentTool, 'timeoutMs' | 'maxAttempts'>): ActivityOptions {
  return {
    startToCloseTimeout: tool.timeoutMs + 60_000,
    heartbeatTimeout: '10 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: tool.maxAttempts,
      nonRetryableErrorTypes: nonRetryableTypes('agent'),
    },
  };
}

// ---- Ingestion --------------------------------------------------------------------------------------------------

/** Ingestion steps back off to a minute; a document whose attempts run out is marked failed by the workflow. */
const ingestRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 8,
};

/** Acquiring a document, marking it failed. Both heartbeat every second: a dead worker is noticed in 10 s. */
export const documentStep: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: ingestRetry,
};

/** Parsing, chunking, embedding and storing a document (or acquiring and indexing it in one step): a big one takes minutes. */
export const indexStep: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: ingestRetry,
};

/**
 * Building a big collection's vector index takes minutes; the longer heartbeat timeout covers a database that runs
 * in the worker's own process (the benchmark's PGlite), whose build blocks the event loop that would send heartbeats.
 */
export const vectorIndexStep: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: ingestRetry,
};

// ---- Self-test --------------------------------------------------------------------------------------------------

/** A self-test probe: a dead worker is noticed within the heartbeat timeout and the probe is retried elsewhere. */
export const probeStep: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '3 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    maximumAttempts: 10,
  },
};
