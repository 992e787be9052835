/**
 * The events a run writes to its event log (lib/events) while it runs, and that its Server-Sent Events stream
 * carries: each is `{ type, data }`, and the type names the shape of the data.
 */
import type { AgentPendingApproval, AgentRunResult, AgentToolCallOutcome } from '.';
import type { AnswerPhase, AnswerResult, AnswerStep, GroundingReport } from './answers';
import type { Usage } from './llm';

/** The `answer` workflow and its activities. */
export type AnswerRunEvent =
  | { type: 'phase'; data: { phase: AnswerPhase } }
  | { type: 'step'; data: AnswerStep }
  /** Generated text, as it streams (consecutive tokens are written as one event). */
  | { type: 'token'; data: { text: string } }
  /** A retried or stricter generation starts over: the text so far is void. */
  | { type: 'token_reset'; data: { attempt: number; strict: boolean } }
  | { type: 'grounding'; data: GroundingReport }
  | { type: 'review_pending'; data: { deadline: string } }
  | { type: 'result'; data: AnswerResult }
  | { type: 'failed'; data: { message: string } };

/** The `agent` workflow and its activities. */
export type AgentRunEvent =
  | {
      type: 'turn';
      data: {
        turn: number;
        text: string;
        toolCalls: Array<{ id: string; name: string }>;
        usage: Usage;
        costUsd: number;
      };
    }
  | {
      type: 'tool_call';
      /** `server`, `toolName` and `truncated` come with calls the tool activity made. */
      data: {
        callId: string;
        tool: string;
        server?: string;
        toolName?: string;
        outcome: AgentToolCallOutcome;
        preview?: string;
        truncated?: boolean;
      };
    }
  | { type: 'approval_requested'; data: AgentPendingApproval }
  | { type: 'result'; data: AgentRunResult };

export type RunEvent = AnswerRunEvent | AgentRunEvent;
export type RunEventType = RunEvent['type'];

/** Sent by the stream itself (never stored) when the run closed without a terminal event. */
export interface RunStreamEndEvent {
  type: 'end';
  data: { reason?: string };
}
