import { createRequire } from 'node:module';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowInfo } from '@temporalio/workflow';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { SerializableSpan } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../contracts';
import { ATTR } from './attributes';

/** The tracing a Temporal worker is assembled with (workers/worker.ts): activity spans, and workflow spans via a sink. */

const require = createRequire(import.meta.url);
/** Workflow-side tracing interceptors; bundled with the workflows (see workers/bundle.ts). */
export const workflowInterceptorModules = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** Activity spans, children of the workflow span that scheduled them; they follow the process's global tracer. */
export const activityTracingInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
  outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
});

export interface WorkerTelemetry {
  processors: SpanProcessor[];
  resource: Resource;
}

/**
 * Workflow spans leave the sandbox through a sink. Each is labelled with its run and tenant on the way out (the
 * interceptor does not), so the trace of a run can be found and scoped by tenant.
 */
export function workflowSpanSinks(t: WorkerTelemetry | undefined): InjectedSinks<Record<string, never>> {
  const sinks = t ? t.processors.map((p) => makeWorkflowExporter(p, t.resource)) : [];
  return {
    exporter: {
      export: {
        fn(info: WorkflowInfo, spans: SerializableSpan[]) {
          // Sinks receive a plain copy of the info (no TypedSearchAttributes methods), hence the raw map.
          const tenant = (info.searchAttributes as Record<string, unknown[] | undefined> | undefined)?.[
            SEARCH_ATTRIBUTES.TenantId.name
          ]?.[0];
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
