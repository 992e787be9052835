import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { ATTR } from '../lib/telemetry/attributes';

const tracer = trace.getTracer('beyondcloud-api');

/**
 * One server span per request, continuing a caller's W3C `traceparent` if sent. Everything the request does (the
 * Temporal client's StartWorkflow span, and through it the workflow and its activities) becomes its child.
 */
export function tracingMiddleware(): Middleware {
  return async (ctx, next) => {
    const parent = propagation.extract(context.active(), ctx.headers);
    const span = tracer.startSpan(
      `${ctx.method} ${ctx.path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': ctx.method, 'url.path': ctx.path, 'url.scheme': ctx.protocol },
      },
      parent,
    );
    ctx.set('traceparent', `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = (ctx as { _matchedRoute?: string })._matchedRoute;
      if (route) span.updateName(`${ctx.method} ${route}`);
      if (route) span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', ctx.status);
      const principal = (ctx.state as { principal?: { tenantId: string } }).principal;
      if (principal) span.setAttribute(ATTR.tenantId, principal.tenantId);
      const workflowId = (ctx.state as { workflowId?: string }).workflowId;
      if (workflowId) span.setAttribute(ATTR.workflowId, workflowId);
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
