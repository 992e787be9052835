import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { ErrorCode, McpError as McpProtocolError } from '@modelcontextprotocol/sdk/types.js';
import {
  AGENT_FAILURES,
  applicationFailure,
  type AgentToolCallInput,
  type AgentToolCallResult,
} from '../lib/contracts';
import { AgentToolCallEntity, McpServerEntity, McpToolEntity } from '../lib/db/entities';
import type { Orm } from '../lib/db/orm';
import { toApplicationFailure } from '../lib/errors';
import { appendRunEvents } from '../lib/events/run-events';
import { McpError } from '../lib/mcp/connect';
import { definitionHash } from '../lib/mcp/definition';
import type { McpClientPool } from '../lib/mcp/pool';
import { syncTools } from '../lib/mcp/registry';
import { withHeartbeat } from './heartbeat';

type ContentItem = {
  type: string;
  text?: string;
  mimeType?: string;
  data?: string;
  uri?: string;
  resource?: { uri?: string; text?: string; mimeType?: string };
};

/** A tool's answer as text for the model: text items as they are, other items described, never raw binary. */
export function contentText(result: { content?: unknown; structuredContent?: unknown }): string {
  const items = Array.isArray(result.content) ? (result.content as ContentItem[]) : [];
  const parts = items.map((c) => {
    switch (c.type) {
      case 'text':
        return c.text ?? '';
      case 'image':
      case 'audio':
        return `[${c.type} ${c.mimeType ?? ''}, ${Math.floor(((c.data?.length ?? 0) * 3) / 4)} bytes, not shown]`;
      case 'resource':
        return (
          c.resource?.text ?? `[resource ${c.resource?.uri ?? ''} (${c.resource?.mimeType ?? 'binary'}), not shown]`
        );
      case 'resource_link':
        return `[resource link ${c.uri ?? ''}]`;
      default:
        return `[${c.type} content, not shown]`;
    }
  });
  if (parts.length === 0 && result.structuredContent !== undefined)
    parts.push(JSON.stringify(result.structuredContent));
  return parts.join('\n');
}

function cap(text: string, max: number): { text: string; truncated: boolean } {
  return text.length <= max ? { text, truncated: false } : { text: text.slice(0, max), truncated: true };
}

/** Protocol errors that mean the request itself was wrong: the model gets them back instead of a retry. */
const MODEL_FIXABLE = new Set<number>([ErrorCode.InvalidParams, ErrorCode.MethodNotFound]);

export function createToolActivities({ orm, mcp }: { orm: Orm; mcp?: McpClientPool }) {
  return {
    /**
     * One MCP tool call of an agent run, on the tools task queue. Refused when the tool's live definition is not
     * the one approved and pinned for the run (the row is marked `changed` on the way). Guarded by a ledger row
     * keyed by (workflow id, call key): a retry after the call completed returns the stored result without calling
     * again; a retry after a request was sent but not answered calls again only if the tool is idempotent. Failures
     * before the request is sent (connecting, listing) are retried by Temporal as usual.
     */
    async callAgentTool(input: AgentToolCallInput): Promise<AgentToolCallResult> {
      if (!mcp) throw applicationFailure(AGENT_FAILURES.mcpNotConfigured, 'This worker has no MCP client pool.');
      const activity = Context.current();
      const { workflowExecution, attempt } = activity.info;
      if (!workflowExecution) throw new Error('callAgentTool must run inside a workflow');
      const workflowId = workflowExecution.workflowId;
      const { tool, tenantId, callKey } = input;
      const em = orm.em.fork();

      const ledger = await em.findOne(AgentToolCallEntity, { workflowId, callKey });
      if (ledger?.status === 'completed') return { ...(ledger.result as AgentToolCallResult), fromLedger: true };
      // Sent before but never answered (a crash, a broken connection): only an idempotent tool may be called again.
      if (ledger && !tool.idempotent) {
        const result: AgentToolCallResult = {
          outcome: 'outcome_unknown',
          text: 'An earlier attempt of this call was interrupted after the request was sent (the worker stopped or the connection broke); whether it took effect is unknown. It was not repeated. Check the current state before calling again.',
          truncated: false,
          fromLedger: false,
        };
        await em.nativeUpdate(
          AgentToolCallEntity,
          { id: ledger.id },
          { status: 'completed', result, completedAt: new Date() },
        );
        return result;
      }

      const refused = (why: string): AgentToolCallResult => ({
        outcome: 'refused',
        text: `The tool ${tool.serverName}/${tool.toolName} was not called: ${why}`,
        truncated: false,
        fromLedger: false,
      });
      const server = await em.findOne(McpServerEntity, { id: tool.serverId, tenantId });
      if (!server || !server.enabled) return refused('its server is no longer registered or is disabled.');
      const row = await em.findOne(McpToolEntity, { tenantId, serverId: server.id, name: tool.toolName });
      if (!row || row.status !== 'approved' || row.approvedHash !== tool.definitionHash) {
        return refused(
          row?.status === 'changed'
            ? 'its definition changed since it was approved; it needs a new approval.'
            : `it is ${row?.status ?? 'gone'}.`,
        );
      }

      return withHeartbeat(async () => {
        try {
          // The server's definition right now: a server may change a tool between discovery and this call.
          const live = await mcp.listTools(server, { signal: activity.cancellationSignal, timeoutMs: 30_000 });
          const current = live.find((t) => t.name === tool.toolName);
          if (!current || definitionHash(current) !== tool.definitionHash) {
            await syncTools(
              orm,
              server,
              live.map((definition) => ({ definition })),
            );
            return refused(
              current
                ? 'the server changed its definition since it was approved (it is now disabled until re-approved).'
                : 'the server no longer offers it.',
            );
          }

          await em
            .createQueryBuilder(AgentToolCallEntity)
            .insert({
              id: crypto.randomUUID(),
              tenantId,
              workflowId,
              callKey,
              serverId: server.id,
              toolName: tool.toolName,
              arguments: input.arguments,
              status: 'started',
              attempt,
              startedAt: new Date(),
            })
            .onConflict(['workflowId', 'callKey'])
            .merge(['status', 'attempt', 'startedAt'])
            .execute('run');

          let answer: { content?: unknown; structuredContent?: unknown; isError?: boolean };
          try {
            const client = await mcp.client(server);
            answer = (await client.callTool({ name: tool.toolName, arguments: input.arguments }, undefined, {
              signal: activity.cancellationSignal,
              timeout: tool.timeoutMs,
            })) as typeof answer;
          } catch (e) {
            if (e instanceof McpProtocolError && MODEL_FIXABLE.has(e.code))
              answer = { content: [{ type: 'text', text: e.message }], isError: true };
            else throw e;
          }
          const { text, truncated } = cap(contentText(answer), mcp.resultMaxChars);
          const result: AgentToolCallResult = {
            outcome: answer.isError ? 'tool_error' : 'ok',
            text,
            truncated,
            fromLedger: false,
          };
          await em.nativeUpdate(
            AgentToolCallEntity,
            { workflowId, callKey },
            { status: 'completed', result, completedAt: new Date(), error: null },
          );
          await appendRunEvents(em, tenantId, workflowId, [
            {
              type: 'tool_call',
              data: {
                callId: callKey,
                tool: tool.alias,
                server: tool.serverName,
                toolName: tool.toolName,
                outcome: result.outcome,
                preview: text.slice(0, 500),
                truncated,
              },
            },
          ]);
          return result;
        } catch (e) {
          const cancelled = activity.cancellationSignal.aborted;
          await em
            .nativeUpdate(
              AgentToolCallEntity,
              { workflowId, callKey, status: 'started' },
              { status: 'error', error: cancelled ? 'cancelled' : (e as Error).message.slice(0, 2000) },
            )
            .catch(() => {});
          // Reported as a cancellation (not a failure): the SDK aborted the request and told the server.
          if (cancelled) throw new CancelledFailure('the agent run was cancelled during the tool call');
          // The session may be broken (server restarted, stdio process gone): reconnect on the next attempt.
          mcp.evict(server.id);
          if (e instanceof McpError) throw toApplicationFailure(e);
          throw applicationFailure(
            AGENT_FAILURES.mcpServerUnavailable,
            `The call to ${tool.serverName}/${tool.toolName} failed: ${(e as Error).message}`,
          );
        }
      });
    },
  };
}
