import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowInfo } from '@temporalio/workflow';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { SerializableSpan } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import { Worker, type InjectedSinks, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { SEARCH_ATTRIBUTES } from '../lib/contracts';
import { ATTR } from '../lib/telemetry/attributes';

const require = createRequire(import.meta.url);
export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Workflow-side tracing interceptors; bundled with the workflows (see workers/bundle.ts). */
export const workflowInterceptorModules = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

export interface WorkerTelemetry {
  processors: SpanProcessor[];
  resource: Resource;
}

/**
 * Workflow spans leave the sandbox through a sink. Each is labelled with its run and tenant on the way out (the
 * interceptor does not), so the trace of a run can be found and scoped by tenant.
 */
function workflowSpanSinks(t: WorkerTelemetry | undefined): InjectedSinks<Record<string, never>> {
  const sinks = t ? t.processors.map((p) => makeWorkflowExporter(p, t.resource)) : [];
  return {
    exporter: {
      export: {
        fn(info: WorkflowInfo, spans: SerializableSpan[]) {
          // Sinks receive a plain copy of the info (no TypedSearchAttributes methods), hence the raw map.
          const tenant = (info.searchAttributes as Record<string, unknown[] | undefined> | undefined)?.[SEARCH_ATTRIBUTES.TenantId.name]?.[0];
          const labelled = spans.map((s) => ({
            ...s,
            attributes: {
              ...s.attributes,
              [ATTR.workflowId]: info.workflowId,
              [ATTR.runId]: info.runId,
              ...(typeof tenant === 'string' ? { [ATTR.tenantId]: tenant } : {}),
            },
          }));
          for (const sink of sinks) void sink.export.fn(info, labelled);
        },
        callDuringReplay: false,
      },
    },
  } as unknown as InjectedSinks<Record<string, never>>;
}

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
    ...(opts.activitiesOnly ? {} : opts.workflowBundlePath ? { workflowBundle: { codePath: opts.workflowBundlePath } } : { workflowsPath }),
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      ...(opts.workflowBundlePath || opts.activitiesOnly ? {} : { workflowModules: workflowInterceptorModules }),
    },
    ...(opts.activitiesOnly ? {} : { sinks: workflowSpanSinks(opts.telemetry) }),
    ...opts.overrides,
  });
}
