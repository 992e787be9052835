import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import {
  activityTracingInterceptor,
  workflowInterceptorModules,
  workflowSpanSinks,
  type WorkerTelemetry,
} from '../lib/telemetry/worker-tracing';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A prebuilt bundle (workers/bundle.ts); without one the workflows are bundled at start. */
  workflowBundlePath?: string;
  /** Without it workflow spans are discarded (activity spans follow the process's global tracer). */
  telemetry?: WorkerTelemetry;
  overrides?: Partial<WorkerOptions>;
  /** Activities only, no workflows (the `tools` task queue). */
  activitiesOnly?: boolean;
}

/** The one place a worker is assembled, shared by the worker process, tests and benchmarks. */
export function createWorker(opts: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities(opts.deps),
    ...(opts.activitiesOnly
      ? {}
      : opts.workflowBundlePath
        ? { workflowBundle: { codePath: opts.workflowBundlePath } }
        : { workflowsPath }),
    interceptors: {
      activity: [activityTracingInterceptor],
      ...(opts.workflowBundlePath || opts.activitiesOnly ? {} : { workflowModules: workflowInterceptorModules }),
    },
    ...(opts.activitiesOnly ? {} : { sinks: workflowSpanSinks(opts.telemetry) }),
    ...opts.overrides,
  });
}
