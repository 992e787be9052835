/**
 * Answers as the console reads them. The workflow's shapes come from lib/contracts/answers.ts by type-only imports
 * (erased from the bundle, so no server code reaches the browser); what is defined here are the shapes of the
 * answers and collections routes, which have no contract of their own.
 */
import type { AnswerOptions, AnswerPhase, AnswerResult, AnswerState, AnswerStep, GroundingReport, Verdict } from '../../../lib/contracts/answers';

export type { AnswerPhase, AnswerResult, AnswerStep, Citation, GroundingPolicy, GroundingReport, ReviewInput } from '../../../lib/contracts/answers';

// A record rather than a list: a verdict added to the contracts fails the console's type-check until it is placed here.
const verdictOrder: Record<Verdict, number> = { supported: 0, contradicted: 1, unsupported: 2 };
export const VERDICTS = Object.keys(verdictOrder) as Verdict[];

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
  live?: AnswerState;
}

/** POST /v1/answers: the question, its collections, and the options the console lets a user set. */
export interface AskInput extends Partial<Pick<AnswerOptions, 'topK' | 'groundingThreshold' | 'policy'>> {
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
