import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../log';
import { PostgresSpanStore } from './span-store';

export { ATTR, GENAI } from './attributes';
export { PostgresSpanStore } from './span-store';

export interface Telemetry {
  tracer: Tracer;
  resource: Resource;
  /** Every span processor in use (Postgres, and OTLP when configured), for the workflow span sink too. */
  processors: SpanProcessor[];
  spanStore: PostgresSpanStore | null;
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK before anything else in a process. Spans go to Postgres (attach the database
 * with `spanStore.attach(orm)` once it is open) and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, to OTLP as well.
 */
export function startTelemetry(opts: {
  serviceName: string;
  tracing: boolean;
  otlpEndpoint?: string;
  log?: Logger;
}): Telemetry {
  const resource = new Resource({ 'service.name': opts.serviceName });
  const spanStore = opts.tracing ? new PostgresSpanStore({ log: opts.log }) : null;
  const processors: SpanProcessor[] = [];
  if (spanStore) processors.push(spanStore);
  if (opts.otlpEndpoint) {
    const url = `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  const sdk = new NodeSDK({ resource, spanProcessors: processors, instrumentations: [] });
  sdk.start();
  return {
    tracer: trace.getTracer('beyondcloud'),
    resource,
    processors,
    spanStore,
    async shutdown() {
      await sdk.shutdown().catch(() => {});
    },
  };
}
