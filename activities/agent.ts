import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import {
  AGENT_FAILURES,
  applicationFailure,
  resolveKbToolRefs,
  workflowIds,
  type AgentMessage,
  type AgentRunEvent,
  type AgentTool,
  type KbToolCallPlan,
  type KbToolRef,
} from '../lib/contracts';
import { LlmCallEntity } from '../lib/db/entities';
import { AppError } from '../lib/errors';
import { insertRunningAnswer } from '../lib/rag/answer-store';
import { answerableCollections } from '../lib/rag/collections';
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

export interface PrepareKbToolCallInput {
  tenantId: string;
  /** The agent run's workflow id and the call's key: together they name the call's answer for good. */
  workflowId: string;
  callKey: string;
  tool: KbToolRef;
  arguments: Record<string, unknown>;
  /** The run's collections, used when the model names none. */
  defaultCollectionIds?: string[];
}

// Models add stray keys; only the known ones are read.
const kbArgs = {
  'kb/search': z.object({
    query: z.string().trim().min(1, 'query must not be empty').max(4000),
    collectionIds: z.array(z.string()).min(1).max(20).optional(),
    topK: z.number().int().min(1).max(20).default(5),
  }),
  'kb/ask': z.object({
    question: z.string().trim().min(1, 'question must not be empty').max(4000),
    collectionIds: z.array(z.string()).min(1).max(20).optional(),
  }),
} as const;

/** RFC 4122 name-based (v5, SHA-1) UUID: the same name gives the same id on every attempt and replay. */
const KB_ANSWER_NAMESPACE = Buffer.from('6f1c2a4e9b3d4c8aa1e25f7b0d9c3e11', 'hex');
export function nameBasedUuid(name: string): string {
  const h = createHash('sha1').update(KB_ANSWER_NAMESPACE).update(name).digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
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
      const kb = resolveKbToolRefs(input.refs);
      const mcpTools =
        kb.mcpRefs.length || !kb.tools.length
          ? await resolveAgentTools(orm, input.tenantId, kb.mcpRefs, mcp?.defaultCallTimeoutMs ?? 120_000)
          : { tools: [], problems: [] };
      const tools = [...kb.tools, ...mcpTools.tools];
      const problems = [...kb.problems, ...mcpTools.problems];
      if (problems.length > 0) {
        throw applicationFailure(
          AGENT_FAILURES.toolUnavailable,
          `Tools not available: ${problems.map((p) => `${p.ref} (${p.problem})`).join('; ')}`,
          { details: [problems] },
        );
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
        {
          workflowId: workflowExecution?.workflowId,
          runId: workflowExecution?.runId,
          activityId,
          attempt,
          outcome: 'ok',
        },
        { orderBy: { createdAt: 'desc' } },
      );
      const costUsd = row ? Number(row.costUsd) : 0;
      if (workflowExecution) {
        await appendRunEvents(em, input.tenantId, workflowExecution.workflowId, [
          {
            type: 'turn',
            data: {
              turn: input.turn,
              text: result.text,
              toolCalls: result.toolCalls.map((c) => ({ id: c.id, name: c.name })),
              usage: result.usage,
              costUsd,
            },
          },
        ]);
      }
      return { ...result, costUsd };
    },

    /**
     * Before a knowledge-base tool call: its arguments checked, its collections the tenant's own (another tenant's
     * id reads as not found, like a missing one), and for `kb/ask` the answer record created under an id derived
     * from the run and the call, so a retried or replayed call is the same answer and GET /v1/answers/:id shows it.
     */
    async prepareKbToolCall(input: PrepareKbToolCallInput): Promise<KbToolCallPlan> {
      const parsed = kbArgs[input.tool].safeParse(input.arguments);
      if (!parsed.success)
        return {
          ok: false,
          outcome: 'invalid',
          message: `Invalid arguments: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ')}.`,
        };
      const args = parsed.data as { query?: string; question?: string; collectionIds?: string[]; topK?: number };
      const collectionIds = [...new Set(args.collectionIds ?? input.defaultCollectionIds ?? [])];
      if (!collectionIds.length)
        return { ok: false, outcome: 'invalid', message: 'No collection to use: pass collectionIds.' };
      const em = orm.em.fork();
      try {
        await answerableCollections(em, input.tenantId, collectionIds);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        return { ok: false, outcome: e.code === 'collection_not_found' ? 'refused' : 'invalid', message: e.message };
      }
      const resultMaxChars = mcp?.resultMaxChars ?? 16_000;
      if (input.tool === 'kb/search')
        return { ok: true, collectionIds, text: args.query!, topK: args.topK ?? 5, resultMaxChars };

      const answerId = nameBasedUuid(`${input.workflowId}\n${input.callKey}`);
      await insertRunningAnswer(em, {
        tenantId: input.tenantId,
        id: answerId,
        workflowId: workflowIds.answer(input.tenantId, answerId),
        question: args.question!,
      });
      return { ok: true, collectionIds, text: args.question!, topK: 0, answerId, resultMaxChars };
    },

    /** The workflow's own events (approvals, decisions it takes itself, the result) into the run's event log. */
    async emitAgentEvents(input: {
      tenantId: string;
      workflowId: string;
      events: Array<NewRunEvent<AgentRunEvent>>;
    }): Promise<void> {
      await appendRunEvents(orm.em.fork(), input.tenantId, input.workflowId, input.events);
    },
  };
}
