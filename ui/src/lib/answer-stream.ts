import type { AnswerEvent, AnswerPhase, AnswerResult, AnswerStep, GroundingReport } from '../api/answer-types';

/** What the answer page knows from the event stream while the run goes on. */
export interface LiveAnswer {
  phase: AnswerPhase | null;
  /** The generated text so far (emptied when a retried or stricter generation starts over). */
  text: string;
  steps: AnswerStep[];
  /** The latest grounding report the gate produced. */
  grounding: GroundingReport | null;
  reviewDeadline: string | null;
  result: AnswerResult | null;
  failure: string | null;
  /** The stream ended (result, failure, or the run closed without either). */
  ended: boolean;
}

export function emptyLive(): LiveAnswer {
  return {
    phase: null,
    text: '',
    steps: [],
    grounding: null,
    reviewDeadline: null,
    result: null,
    failure: null,
    ended: false,
  };
}

/** The live state after one event; a new object, so a ref holding it re-renders. */
export function applyAnswerEvent(state: LiveAnswer, event: AnswerEvent): LiveAnswer {
  switch (event.type) {
    case 'phase':
      return { ...state, phase: event.data.phase };
    case 'step':
      return { ...state, steps: [...state.steps, event.data] };
    case 'token':
      return { ...state, text: state.text + event.data.text };
    case 'token_reset':
      return { ...state, text: '' };
    case 'grounding':
      return { ...state, grounding: event.data };
    case 'review_pending':
      return { ...state, phase: 'pending_review', reviewDeadline: event.data.deadline };
    case 'result':
      return {
        ...state,
        phase: 'done',
        result: event.data,
        text: event.data.answer,
        steps: event.data.steps,
        grounding: event.data.grounding,
        ended: true,
      };
    case 'failed':
      return { ...state, failure: event.data.message, ended: true };
    case 'end':
      return { ...state, ended: true };
    default:
      return state;
  }
}

export const PHASE_LABELS: Record<AnswerPhase, string> = {
  rewriting: 'Rewriting the question with the conversation',
  retrieving: 'Retrieving passages',
  generating: 'Generating the answer',
  grounding: 'Checking every claim against the sources',
  regenerating: 'Regenerating from the supported evidence only',
  pending_review: 'Waiting for a human review',
  saving: 'Saving the result',
  done: 'Done',
};
