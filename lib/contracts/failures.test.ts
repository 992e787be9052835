import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppError, badRequest, toApplicationFailure } from '../errors';
import { classifyLlmError } from '../llm/errors';
import {
  AGENT_FAILURES,
  applicationFailure,
  applicationFailureOf,
  FAILURE_SPECS,
  FAILURES,
  failureStatus,
  INGEST_FAILURES,
  isLlmFailureType,
  LLM_FAILURES,
  NON_RETRYABLE_LLM_FAILURES,
  nonRetryableTypes,
} from './failures';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const code = ['workflows', 'activities', 'lib', 'api', 'workers']
  .flatMap(sources)
  .map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }));
const literals = (pattern: RegExp) =>
  code.flatMap(({ file, text }) =>
    [...text.matchAll(pattern)].map((m) => ({ file: relative(root, join(root, file)), type: m[1]! })),
  );
const uncatalogued = (found: Array<{ file: string; type: string }>) =>
  found.filter(({ type }) => !FAILURE_SPECS.has(type));

describe('the failure catalogue', () => {
  it('keeps the type names recorded histories and clients depend on', () => {
    // Renaming a type breaks replays of recorded histories and API clients matching on error codes.
    expect([...FAILURE_SPECS.keys()].sort()).toEqual(
      [
        'agent_tool_unavailable',
        'answer_not_found',
        'bad_input',
        'collection_not_found',
        'dataset_missing',
        'document_missing',
        'embedding_dimension_mismatch',
        'embedding_mismatch',
        'fetch_refused',
        'grounding_case_missing',
        'invalid_request',
        'judge_invalid_output',
        'judge_not_configured',
        'llm_bad_request',
        'llm_bad_response',
        'llm_budget_exceeded',
        'llm_connection',
        'llm_content_filter',
        'llm_context_length',
        'llm_forbidden',
        'llm_not_configured',
        'llm_not_found',
        'llm_rate_limited',
        'llm_server_error',
        'llm_timeout',
        'llm_unauthorized',
        'mcp_connect_failed',
        'mcp_not_configured',
        'mcp_secret_unresolved',
        'mcp_server_unavailable',
        'mcp_stdio_not_allowed',
        'mcp_url_not_allowed',
        'mixed_embedding_dimensions',
        'mixed_embedding_models',
        'parse_failed',
        'source_missing',
        'source_unreadable',
        'sync_running',
      ].sort(),
    );
    const all = Object.values(FAILURES).flatMap((group) => Object.values(group).map((spec) => spec.type));
    expect(new Set(all).size).toBe(all.length);
  });

  it('lists every failure type the code raises', () => {
    expect(code.length).toBeGreaterThan(50);
    // Literal types of ApplicationFailure.create / applicationFailure calls.
    expect(uncatalogued(literals(/ApplicationFailure\.create\(\{[^}]*?\btype:\s*'([^']+)'/g))).toEqual([]);
    expect(uncatalogued(literals(/\bapplicationFailure\(\s*'([^']+)'/g))).toEqual([]);
    // MCP error codes become failure types of tool calls (activities/tools.ts).
    const mcpCodes = literals(/new McpError\(\s*'([^']+)'/g);
    expect(mcpCodes.length).toBeGreaterThan(3);
    expect(uncatalogued(mcpCodes)).toEqual([]);
    // AppError codes of the retrieval checks become failure types of answer steps (activities/answer.ts).
    const retrieval = code.filter(({ file }) => /lib\/rag\/(collections|retrieve)\.ts$/.test(file));
    expect(retrieval).toHaveLength(2);
    const codes = retrieval.flatMap(({ file, text }) =>
      [...text.matchAll(/(?:badRequest\(\s*|code:\s*)'([^']+)'/g)].map((m) => ({ file, type: m[1]! })),
    );
    expect(codes.length).toBeGreaterThanOrEqual(5);
    expect(uncatalogued(codes)).toEqual([]);
  });

  it('is the only source of retry policies and failure maps', () => {
    // No hand-written type lists: every nonRetryableErrorTypes comes from the catalogue.
    const handWritten = literals(/nonRetryableErrorTypes:\s*\[[^\]]*?'([^']+)'/g);
    expect(handWritten).toEqual([]);
    expect(NON_RETRYABLE_LLM_FAILURES).toEqual([
      'llm_bad_request',
      'llm_context_length',
      'llm_content_filter',
      'llm_unauthorized',
      'llm_forbidden',
      'llm_not_found',
      'llm_budget_exceeded',
      'llm_not_configured',
    ]);
    expect(nonRetryableTypes('llm', 'retrieval', 'judge')).toEqual([
      ...NON_RETRYABLE_LLM_FAILURES,
      'collection_not_found',
      'mixed_embedding_models',
      'invalid_request',
      'embedding_dimension_mismatch',
      'mixed_embedding_dimensions',
      'judge_not_configured',
    ]);
    expect(nonRetryableTypes('agent')).toEqual([
      'agent_tool_unavailable',
      'mcp_not_configured',
      'mcp_stdio_not_allowed',
      'mcp_secret_unresolved',
      'mcp_url_not_allowed',
    ]);
    for (const [type, spec] of FAILURE_SPECS) {
      const group = Object.keys(FAILURES).find((g) =>
        Object.values(FAILURES[g as keyof typeof FAILURES]).some((s) => s.type === type),
      ) as keyof typeof FAILURES;
      expect((nonRetryableTypes(group) as string[]).includes(type)).toBe(!spec.retryable);
    }
    expect(Object.values(LLM_FAILURES).sort()).toEqual(
      [...FAILURE_SPECS.keys()].filter((t) => t.startsWith('llm_')).sort(),
    );
    expect(Object.values(LLM_FAILURES).every(isLlmFailureType)).toBe(true);
    expect(isLlmFailureType('judge_invalid_output')).toBe(false);
    expect(INGEST_FAILURES).toEqual({
      fetch: 'fetch_refused',
      parse: 'parse_failed',
      missing: 'document_missing',
      embedding: 'embedding_mismatch',
    });
    expect(AGENT_FAILURES).toMatchObject({
      toolUnavailable: 'agent_tool_unavailable',
      mcpNotConfigured: 'mcp_not_configured',
      mcpServerUnavailable: 'mcp_server_unavailable',
    });
  });

  it('raises failures as retryable as the catalogue says', () => {
    for (const [type, spec] of FAILURE_SPECS) {
      const failure = applicationFailure(type as Parameters<typeof applicationFailure>[0], 'x');
      expect(failure.type).toBe(type);
      expect(failure.nonRetryable).toBe(!spec.retryable);
    }
    expect(applicationFailure(LLM_FAILURES.rateLimited, 'slow down', { nextRetryDelayMs: 2000 }).nextRetryDelay).toBe(
      2000,
    );
    // The provider classifier agrees with the catalogue.
    expect(classifyLlmError(new Error('boom'))).toMatchObject({ type: 'llm_bad_response', nonRetryable: false });
  });

  it('converts AppErrors to failures of the same type', () => {
    const missing = new AppError({
      code: 'collection_not_found',
      message: 'Collection x was not found.',
      status: 404,
      category: 'not_found',
    });
    expect(toApplicationFailure(missing)).toMatchObject({
      type: 'collection_not_found',
      message: 'Collection x was not found.',
      nonRetryable: true,
    });
    expect(toApplicationFailure({ code: 'mcp_connect_failed', message: 'down' })).toMatchObject({
      type: 'mcp_connect_failed',
      nonRetryable: false,
    });
    // Outside the catalogue: the status decides.
    expect(toApplicationFailure(badRequest('some_new_check', 'no'))).toMatchObject({
      type: 'some_new_check',
      nonRetryable: true,
    });
    expect(toApplicationFailure(new AppError({ code: 'db_down', message: 'no' }))).toMatchObject({
      type: 'db_down',
      nonRetryable: false,
    });
  });

  it('maps a failed run to the HTTP status the API answered before the catalogue', () => {
    // The rule the answers routes used: collection_not_found 404, model and judge output 502, else bad input 400.
    const before = (type: string, nonRetryable: boolean) =>
      type === 'collection_not_found'
        ? 404
        : type.startsWith('llm_') || type === 'judge_invalid_output'
          ? 502
          : nonRetryable
            ? 400
            : 502;
    for (const type of [
      ...Object.values(FAILURES.llm),
      ...Object.values(FAILURES.retrieval),
      ...Object.values(FAILURES.judge),
    ].map((s) => s.type)) {
      const nonRetryable = !FAILURE_SPECS.get(type)!.retryable;
      expect(failureStatus(type, nonRetryable), type).toBe(before(type, nonRetryable));
    }
    expect(failureStatus('run_failed', true)).toBe(400);
    expect(failureStatus('Error', false)).toBe(502);
    expect(failureStatus(undefined, undefined)).toBe(502);
  });

  it('finds the innermost ApplicationFailure of a failure chain', () => {
    const inner = applicationFailure(LLM_FAILURES.contextLength, 'too long');
    const activity = new Error('Activity task failed', { cause: inner });
    expect(applicationFailureOf(new Error('Workflow execution failed', { cause: activity }))).toBe(inner);
    expect(applicationFailureOf(inner)).toBe(inner);
    expect(applicationFailureOf(new Error('plain'))).toBeUndefined();
    expect(applicationFailureOf(undefined)).toBeUndefined();
  });
});
