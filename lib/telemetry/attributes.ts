/** Span attribute keys. The Temporal interceptors' own keys are reused so every span of a run can be found. */
export const ATTR = {
  tenantId: 'bc.tenant_id',
  runKind: 'bc.run_kind',
  workflowId: 'temporalWorkflowId',
  runId: 'run_id',
  activityId: 'temporalActivityId',
  /** The span a caller's `traceparent` named: linked, never continued (api/tracing.ts). */
  callerTraceId: 'bc.caller.trace_id',
  callerSpanId: 'bc.caller.span_id',
} as const;

/**
 * OpenTelemetry GenAI semantic-convention keys, for the LLM gateway and tool calls to put on their spans
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/).
 */
export const GENAI = {
  system: 'gen_ai.system',
  operation: 'gen_ai.operation.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
} as const;
