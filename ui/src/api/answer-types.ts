/**
 * Answers as the console reads them: mirrors of lib/contracts/answers.ts (the browser build cannot import lib/)
 * and the shapes of the answers and collections routes. Keep in step with the contracts.
 */

export type GroundingPolicy = 'abstain' | 'review';
export type Verdict = 'supported' | 'contradicted' | 'unsupported';
export const VERDICTS: readonly Verdict[] = ['supported', 'contradicted', 'unsupported'];

/** A passage of the assembled context, numbered as the answer cites it. */
export interface Citation {
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

export interface ClaimVerdict {
  claim: string;
  verdict: Verdict;
  confidence: number;
  /** The passage id (for answers, the citation number as text) and the span of it. */
  evidence: { id: string; span: string } | null;
  reason: string;
}

export interface GroundingReport {
  score: number;
  threshold: number;
  passed: boolean;
  method: 'llm' | 'deterministic';
  claims: ClaimVerdict[];
  model?: string;
}

export interface ReviewInput {
  decision: 'approve' | 'reject';
  reviewer?: string;
  note?: string;
}

export interface AnswerStep {
  name: string;
  /** Milliseconds since the run started. */
  startedAtMs: number;
  ms: number;
  detail?: Record<string, unknown>;
}

export interface AnswerUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  calls: number;
}

export interface AnswerResult {
  answerId: string;
  workflowId: string;
  question: string;
  /** What retrieval used: the question, or its standalone rewrite in a conversation. */
  query: string;
  status: 'answered' | 'abstained' | 'rejected';
  answer: string;
  citations: Citation[];
  grounding: GroundingReport | null;
  firstAttempt?: { answer: string; grounding: GroundingReport };
  regenerated: boolean;
  review?: ReviewInput & { at: string; timedOut?: boolean };
  usage: AnswerUsage;
  steps: AnswerStep[];
  latencyMs: number;
  model: string | null;
}

export type AnswerPhase = 'rewriting' | 'retrieving' | 'generating' | 'grounding' | 'regenerating' | 'pending_review' | 'saving' | 'done';

/** The workflow's live state while it runs (the `state` query). */
export interface AnswerLiveState {
  phase: AnswerPhase;
  steps: AnswerStep[];
  pendingReview?: { answer: string; grounding: GroundingReport; deadline: string };
}

export type AnswerRecordStatus = 'running' | 'pending_review' | 'answered' | 'abstained' | 'failed';

/** GET /v1/answers/:id; the list leaves out `result` and `live`. */
export interface AnswerRecord {
  id: string;
  workflowId: string;
  conversationId: string | null;
  question: string;
  status: AnswerRecordStatus;
  answer: string | null;
  groundingScore: number | null;
  createdAt: string;
  completedAt: string | null;
  /** The full result once the run ended; `{ error }` when it failed. */
  result?: AnswerResult | { error: string };
  live?: AnswerLiveState;
}

export interface AnswerOptionsInput {
  topK?: number;
  groundingThreshold?: number;
  policy?: GroundingPolicy;
}

export interface AskInput extends AnswerOptionsInput {
  question: string;
  collectionIds: string[];
}

export interface Collection {
  id: string;
  name: string;
  description: string | null;
  embeddingModel: string;
  embeddingDim: number;
  documentCount: number;
  chunkCount: number;
  createdAt: string;
}

/** What the answer's event stream carries (GET /v1/answers/:id/events). */
export type AnswerEvent =
  | { type: 'phase'; id?: string; data: { phase: AnswerPhase } }
  | { type: 'step'; id?: string; data: AnswerStep }
  | { type: 'token'; id?: string; data: { text: string } }
  | { type: 'token_reset'; id?: string; data: { attempt: number; strict: boolean } }
  | { type: 'grounding'; id?: string; data: GroundingReport }
  | { type: 'review_pending'; id?: string; data: { deadline: string } }
  | { type: 'result'; id?: string; data: AnswerResult }
  | { type: 'failed'; id?: string; data: { message: string } }
  | { type: 'end'; id?: string; data: { reason?: string } };

export function isAnswerResult(result: AnswerRecord['result']): result is AnswerResult {
  return !!result && 'answer' in result && 'citations' in result;
}
