import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, taskQueues, type RunKind } from '../../lib/contracts';

export interface StartRunOptions {
  workflowType: string;
  /** A business key (lib/contracts workflowIds); the same id twice is the same run. */
  workflowId: string;
  args: unknown[];
  tenantId: string;
  kind: RunKind;
  collectionId?: string;
}

/**
 * The one way the API starts a run: on the main task queue, with the search attributes every run carries (so it is
 * listed and scoped per tenant), idempotent by workflow id — a client retrying a start gets the same run, running
 * or finished, never a second one.
 */
export async function startRun(temporal: Client, taskQueuePrefix: string, o: StartRunOptions): Promise<WorkflowHandle> {
  try {
    return await temporal.workflow.start(o.workflowType, {
      workflowId: o.workflowId,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'USE_EXISTING',
      taskQueue: taskQueues(taskQueuePrefix).main,
      args: o.args,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.TenantId, value: o.tenantId },
        { key: SEARCH_ATTRIBUTES.RunKind, value: o.kind },
        ...(o.collectionId ? [{ key: SEARCH_ATTRIBUTES.CollectionId, value: o.collectionId }] : []),
      ],
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    return temporal.workflow.getHandle(o.workflowId);
  }
}
