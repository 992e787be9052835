/**
 * Answering and grounding contracts (workflow-safe: no Node APIs). The `answer` workflow's input and result, the
 * grounding report, and the `review` update for answers held for a human.
 */

import type { PromptRef, PromptSet } from './evals';

export type GroundingPolicy = 'abstain' | 'review';
export const GROUNDING_METHODS = ['auto', 'llm', 'deterministic'] as const;
export type GroundingMethod = (typeof GROUNDING_METHODS)[number];

export interface AnswerOptions {
  /** Passages retrieved (after fusion) before context assembly. */
  topK: number;
  /** Overrides the configured answer model. */
  model?: string;
  /** Supported share of claims an answer needs to be released (0..1). */
  groundingThreshold: number;
  /** Below the threshold, after one stricter regeneration: abstain, or hold the answer for a human. */
  policy: GroundingPolicy;
  /** How long a held answer waits for `review` before it abstains, e.g. '24 hours'. */
  reviewTimeout: string;
  /** Token budget of the assembled context. */
  maxContextTokens: number;
  /** Who judges claims: an LLM judge when a model is configured (auto), or the deterministic checker. */
  groundingMethod: GroundingMethod;
  /** Rerank the retrieved passages with the LLM (only when a rerank model is configured). */
  rerank: boolean;
  /** Sampling temperature of the answer's generation (absent: 0); the judge and rewrite keep theirs. */
  temperature?: number;
  /** A cap on the answer's generated tokens (absent: the provider's default). */
  maxTokens?: number;
}

export interface HistoryMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface AnswerInput {
  tenantId: string;
  answerId: string;
  question: string;
  collectionIds: string[];
  /** Chat: the earlier turns, oldest first; the question is rewritten into a standalone query with them. */
  conversationId?: string;
  history?: HistoryMessage[];
  options: AnswerOptions;
  /**
   * The prompts this run uses (answer, answer_strict, rewrite, rerank, judge), resolved when it started (issue 19);
   * a name absent uses its shipped version 1.
   */
  prompts?: PromptSet;
  /** Who asked: a request or chat (absent), an eval run, or a replay. Eval answers stay out of the answers list. */
  origin?: AnswerOrigin;
}

export type AnswerOrigin = 'request' | 'eval' | 'replay';

/** A passage of the assembled context, numbered as the prompt cites it. */
export interface ContextPassage {
  n: number;
  chunkId: string;
  documentId: string;
  collectionId: string;
  documentTitle: string | null;
  source: string;
  page: number | null;
  headingPath: string[];
  text: string;
  tokens: number;
  score: number;
}

export type Citation = ContextPassage;

export type Verdict = 'supported' | 'contradicted' | 'unsupported';

export interface ClaimVerdict {
  claim: string;
  verdict: Verdict;
  confidence: number;
  /** The best evidence: the passage id (for answers, the citation number as text) and the span of it. */
  evidence: { id: string; span: string } | null;
  reason: string;
}

export interface GroundingReport {
  /** Supported share of the claims (1 when there are none). */
  score: number;
  threshold: number;
  passed: boolean;
  method: 'llm' | 'deterministic';
  claims: ClaimVerdict[];
  model?: string;
}

export interface ReviewInput {
  decision: 'approve' | 'reject';
  /** The API key that decided (`name (prefix…)` and its id), set by the API from the caller, never from a body. */
  reviewer?: string;
  reviewerKeyId?: string;
  /** The user who reviewed through a console session. */
  reviewerUserId?: string;
  note?: string;
}

export interface AnswerStep {
  name: string;
  /** Milliseconds since the run started (workflow time). */
  startedAtMs: number;
  ms: number;
  detail?: Record<string, unknown>;
}

export type AnswerStatus = 'answered' | 'abstained' | 'rejected';

export interface AnswerResult {
  answerId: string;
  workflowId: string;
  question: string;
  /** The query retrieval used: the question, or its standalone rewrite in a conversation. */
  query: string;
  status: AnswerStatus;
  answer: string;
  citations: Citation[];
  grounding: GroundingReport | null;
  /** The first answer and its report when it was regenerated (or held). */
  firstAttempt?: { answer: string; grounding: GroundingReport };
  regenerated: boolean;
  review?: ReviewInput & { at: string; timedOut?: boolean };
  /**
   * An answer not released (abstained or rejected) with passages retrieved: the passages considered, and the model's
   * own words when it abstained by itself (no claims; the local provider lists each passage and how close it came).
   */
  considered?: { passages: ContextPassage[]; modelText: string | null };
  usage: { inputTokens: number; outputTokens: number; costUsd: number; calls: number };
  steps: AnswerStep[];
  latencyMs: number;
  model: string | null;
  /** The prompt versions the run used (issue 19). */
  prompts?: PromptRef[];
  /**
   * The passages generation saw, in the order it saw them (after rerank), without their text: what recall@k and MRR
   * are computed from. Absent on answers from before issue 19.
   */
  context?: Array<Pick<ContextPassage, 'n' | 'chunkId' | 'documentId' | 'collectionId' | 'documentTitle' | 'source'>>;
}

export type AnswerPhase =
  'rewriting' | 'retrieving' | 'generating' | 'grounding' | 'regenerating' | 'pending_review' | 'saving' | 'done';

/** The live state, as the `answerState` query returns it. */
export interface AnswerState {
  phase: AnswerPhase;
  steps: AnswerStep[];
  /** Set while held for review. */
  pendingReview?: { answer: string; grounding: GroundingReport; deadline: string };
}

export interface GroundingCheckInput {
  tenantId: string;
  answer: string;
  passages: Array<{ id: string; text: string }>;
  threshold: number;
  method: GroundingMethod;
  model?: string;
}

export const ANSWER_DEFAULTS: AnswerOptions = {
  topK: 6,
  groundingThreshold: 0.75,
  policy: 'abstain',
  reviewTimeout: '24 hours',
  maxContextTokens: 3000,
  groundingMethod: 'auto',
  rerank: true,
};

/** What an abstaining answer says. */
export const ABSTAIN_TEXT = 'The documents do not say.';

/** Milliseconds of a duration like '24 hours', '90 minutes', '30s', '500ms'; null when it is not one. */
export function durationMs(duration: string): number | null {
  const m =
    /^\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s*$/i.exec(
      duration,
    );
  if (!m) return null;
  const unit = m[2]!.toLowerCase();
  const factor =
    unit === 'ms' || unit.startsWith('milli')
      ? 1
      : unit.startsWith('s')
        ? 1e3
        : unit.startsWith('m')
          ? 6e4
          : unit.startsWith('h')
            ? 36e5
            : 864e5;
  return Number(m[1]) * factor;
}

export interface SearchInput {
  tenantId: string;
  collectionIds: string[];
  query: string;
  topK: number;
  mode: 'hybrid' | 'vector' | 'text';
}

/**
 * What the API served for a search, recorded as its run (workflows/search.ts): the hits, or the model's failure the
 * caller got (a 502), so a failed search is a failed run.
 */
export type SearchServed = (
  { hits: SearchHit[]; error?: undefined } | { hits?: undefined; error: { type: string; message: string } }
) & {
  /** When the API started serving it, and how long it took (ms). */
  startedAt: string;
  durationMs: number;
};

export interface SearchHit {
  chunkId: string;
  documentId: string;
  collectionId: string;
  documentTitle: string | null;
  source: string;
  ordinal: number;
  text: string;
  headingPath: string[];
  page: number | null;
  tokens: number;
  /** The fused score (reciprocal rank fusion over the methods that found the chunk). */
  score: number;
  vectorRank: number | null;
  textRank: number | null;
}
