import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type Workflow,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import {
  describeRun,
  clipWhat,
  RUN_WHAT_MEMO,
  runSearchAttributes,
  taskQueues,
  type RunKind,
} from '../../lib/contracts';
import type { RunToStart } from '../quota/service';

/** What admits a run before it starts: the tenant's quotas (api/quota/service.ts), or nothing for scripts. */
export interface RunAdmission {
  admitRun<T>(run: RunToStart, start: () => Promise<T>): Promise<T>;
}

export interface StartRunOptions<W extends Workflow> {
  /** A business key (lib/contracts workflowIds); the same id twice is the same run. */
  workflowId: string;
  args: Parameters<W>;
  tenantId: string;
  kind: RunKind;
  collectionId?: string;
  /** The run's one-line description (memo `what`); derived from kind and args (lib/contracts describeRun) when absent. */
  what?: string;
  /** More memo beside `what` (the OpenAI-compatible endpoint records its caller's `user` and `metadata`). */
  memo?: Record<string, unknown>;
}

/** The `what` memo a run starts with: the caller's text, else one derived from its kind and input. */
export function runWhat(o: { kind: RunKind; args: readonly unknown[]; what?: string }): string | null {
  return o.what?.trim() ? clipWhat(o.what) : describeRun(o.kind, o.args);
}

/**
 * The one way the API starts a run: on the main task queue, with the search attributes every run carries (so it is
 * listed and scoped per tenant), idempotent by workflow id — a client retrying a start gets the same run, running
 * or finished, never a second one. The workflow function itself names the type and types the arguments and result.
 *
 * Within the tenant's quotas (api/quota/service.ts): past its runs per minute, running runs of the kind or model
 * tokens today the run is not started and the caller gets a 429; a start of an existing id returns that run.
 */
export async function startRun<W extends Workflow>(
  temporal: Client,
  taskQueuePrefix: string,
  workflow: W,
  o: StartRunOptions<W>,
  admission?: RunAdmission,
): Promise<WorkflowHandle<W>> {
  const start = () => startOrFind(temporal, taskQueuePrefix, workflow, o);
  return admission ? admission.admitRun(o, start) : start();
}

async function startOrFind<W extends Workflow>(
  temporal: Client,
  taskQueuePrefix: string,
  workflow: W,
  o: StartRunOptions<W>,
): Promise<WorkflowHandle<W>> {
  try {
    const options: WorkflowStartOptions<Workflow> = {
      workflowId: o.workflowId,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'USE_EXISTING',
      taskQueue: taskQueues(taskQueuePrefix).main,
      args: o.args,
      typedSearchAttributes: runSearchAttributes(o),
      memo: memoOf(o),
      // Task queue fairness (a server with matching.enableFairness, lib/temporal/dev-server.ts): the tasks of a
      // tenant's backlog are dispatched in turn with other tenants' instead of ahead of them. Activities and child
      // workflows inherit the key.
      priority: { fairnessKey: o.tenantId },
    };
    // StartRunOptions<W> already ties args to W; the SDK's conditional args type cannot be checked for a generic W.
    return await temporal.workflow.start<W>(workflow, options as WorkflowStartOptions<W>);
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    return temporal.workflow.getHandle<W>(o.workflowId);
  }
}

function memoOf(o: {
  kind: RunKind;
  args: readonly unknown[];
  what?: string;
  memo?: Record<string, unknown>;
}): Record<string, unknown> | undefined {
  const what = runWhat(o);
  const memo = { ...o.memo, ...(what ? { [RUN_WHAT_MEMO]: what } : {}) };
  return Object.keys(memo).length ? memo : undefined;
}
