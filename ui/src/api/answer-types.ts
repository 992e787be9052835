/**
 * Answers as the console reads them. The workflow's shapes come from lib/contracts/answers.ts by type-only imports
 * (erased from the bundle, so no server code reaches the browser); what is defined here are the shapes of the
 * answers and collections routes, which have no contract of their own.
 */
import type { AnswerOptions, AnswerResult, AnswerState, Verdict } from '../../../lib/contracts/answers';
import type { AnswerRunEvent, RunStreamEndEvent } from '../../../lib/contracts/run-events';
import type { AnswerFreshness, AnswerFreshnessDetail } from '../../../lib/contracts/batch';

export type {
  AnswerPhase,
  AnswerResult,
  AnswerStep,
  Citation,
  GroundingPolicy,
  GroundingReport,
  ReviewInput,
} from '../../../lib/contracts/answers';

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
  /** Set when a document it cited changed and a sync checked it again. */
  freshness?: { status: AnswerFreshness; checkedAt: string | null; detail: AnswerFreshnessDetail | null } | null;
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

/** What the answer's event stream carries (GET /v1/answers/:id/events): the run's events, with their log id. */
export type AnswerEvent = (AnswerRunEvent | RunStreamEndEvent) & { id?: string };

export function isAnswerResult(result: AnswerRecord['result']): result is AnswerResult {
  return !!result && 'answer' in result && 'citations' in result;
}
