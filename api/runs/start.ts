import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type Workflow,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { runSearchAttributes, taskQueues, type RunKind } from '../../lib/contracts';

export interface StartRunOptions<W extends Workflow> {
  /** A business key (lib/contracts workflowIds); the same id twice is the same run. */
  workflowId: string;
  args: Parameters<W>;
  tenantId: string;
  kind: RunKind;
  collectionId?: string;
}

/**
 * The one way the API starts a run: on the main task queue, with the search attributes every run carries (so it is
 * listed and scoped per tenant), idempotent by workflow id — a client retrying a start gets the same run, running
 * or finished, never a second one. The workflow function itself names the type and types the arguments and result.
 */
export async function startRun<W extends Workflow>(
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
    };
    // StartRunOptions<W> already ties args to W; the SDK's conditional args type cannot be checked for a generic W.
    return await temporal.workflow.start<W>(workflow, options as WorkflowStartOptions<W>);
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    return temporal.workflow.getHandle<W>(o.workflowId);
  }
}
