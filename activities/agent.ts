import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { AGENT_FAILURES, type AgentMessage, type AgentTool } from '../lib/contracts';
import { LlmCallEntity } from '../lib/db/entities';
import type { Orm } from '../lib/db/orm';
import { appendRunEvents, type NewRunEvent } from '../lib/events/run-events';
import type { LlmGateway } from '../lib/llm/gateway';
import type { GenerateResult, ToolSpec } from '../lib/llm/types';
import type { McpClientPool } from '../lib/mcp/pool';
import { resolveAgentTools } from '../lib/mcp/registry';
import { createLlmActivities } from './llm';

export interface ResolveAgentToolsInput {
  tenantId: string;
  refs: string[];
}

export interface AgentModelTurnInput {
  tenantId: string;
  /** The turn's number in the run (for its event). */
  turn: number;
  messages: AgentMessage[];
  tools: ToolSpec[];
  model?: string;
  temperature?: number;
}

export interface AgentModelTurnResult extends GenerateResult {
  /** What this turn cost, as the gateway recorded it in llm_calls (its price table). */
  costUsd: number;
}

export function createAgentActivities({ orm, llm, mcp }: { orm: Orm; llm: LlmGateway; mcp?: McpClientPool }) {
  const { generateText } = createLlmActivities({ llm });
  return {
    /** Pins the run's tools when it starts: approved definitions and hashes, read once and kept in the history. */
    async resolveAgentTools(input: ResolveAgentToolsInput): Promise<AgentTool[]> {
      const { tools, problems } = await resolveAgentTools(orm, input.tenantId, input.refs, mcp?.defaultCallTimeoutMs ?? 120_000);
      if (problems.length > 0) {
        throw ApplicationFailure.create({
          type: AGENT_FAILURES.toolUnavailable,
          message: `Tools not available: ${problems.map((p) => `${p.ref} (${p.problem})`).join('; ')}`,
          details: [problems],
          nonRetryable: true,
        });
      }
      return tools;
    },

    /** One model turn through the LLM gateway (purpose `agent`), with the tools the run may call. */
    async agentModelTurn(input: AgentModelTurnInput): Promise<AgentModelTurnResult> {
      const result = await generateText({
        tenantId: input.tenantId,
        purpose: 'agent',
        messages: input.messages,
        model: input.model,
        options: { tools: input.tools, ...(input.temperature !== undefined ? { temperature: input.temperature } : {}) },
      });
      const { workflowExecution, activityId, attempt } = Context.current().info;
      const em = orm.em.fork();
      const row = await em.findOne(
        LlmCallEntity,
        { workflowId: workflowExecution?.workflowId, runId: workflowExecution?.runId, activityId, attempt, outcome: 'ok' },
        { orderBy: { createdAt: 'desc' } },
      );
      const costUsd = row ? Number(row.costUsd) : 0;
      if (workflowExecution) {
        await appendRunEvents(em, input.tenantId, workflowExecution.workflowId, [
          { type: 'turn', data: { turn: input.turn, text: result.text, toolCalls: result.toolCalls.map((c) => ({ id: c.id, name: c.name })), usage: result.usage, costUsd } },
        ]);
      }
      return { ...result, costUsd };
    },

    /** The workflow's own events (approvals, decisions it takes itself, the result) into the run's event log. */
    async emitAgentEvents(input: { tenantId: string; workflowId: string; events: NewRunEvent[] }): Promise<void> {
      await appendRunEvents(orm.em.fork(), input.tenantId, input.workflowId, input.events);
    },
  };
}
