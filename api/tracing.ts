import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Link } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import type { Middleware } from 'koa';
import { ATTR } from '../lib/telemetry/attributes';

const tracer = trace.getTracer('beyondcloud-api');

/**
 * One server span per request, always the root of a new trace. Everything the request does (the Temporal client's
 * StartWorkflow span, and through it the workflow and its activities) becomes its child.
 *
 * A caller's `traceparent` is not continued: any caller could name another tenant's trace id and have its run join
 * that trace. It is kept as a span link and as attributes, which the trace reader follows only into spans of the
 * same tenant (the MCP endpoint's loopback calls). Baggage and `tracestate` are never read, so nothing a caller sends
 * reaches the Temporal headers the workflow's history keeps.
 */
export function tracingMiddleware(): Middleware {
  return async (ctx, next) => {
    const header = ctx.get('traceparent');
    const caller = header ? parseTraceParent(header) : null;
    const links: Link[] = [];
    const attributes: Attributes = {
      'http.request.method': ctx.method,
      'url.path': ctx.path,
      'url.scheme': ctx.protocol,
    };
    if (caller && trace.isSpanContextValid(caller)) {
      links.push({ context: caller });
      attributes[ATTR.callerTraceId] = caller.traceId;
      attributes[ATTR.callerSpanId] = caller.spanId;
    }
    const span = tracer.startSpan(
      `${ctx.method} ${ctx.path}`,
      { kind: SpanKind.SERVER, root: true, links, attributes },
      ROOT_CONTEXT,
    );
    ctx.set('traceparent', `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    try {
      await context.with(trace.setSpan(ROOT_CONTEXT, span), next);
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
