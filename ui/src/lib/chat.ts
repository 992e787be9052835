import {
  isAnswerResult,
  type AnswerRecord,
  type AnswerResult,
  type Citation,
  type GroundingReport,
} from '../api/answer-types';
import type { Conversation, ConversationMessage } from '../api/conversations';
import { PHASE_LABELS, type LiveAnswer } from './answer-stream';
import { formatPercent } from './format';

/** A question and its reply as stored; the reply is null until the answer is final (or while it waits for review). */
export interface StoredTurn {
  answerId: string;
  question: string;
  reply: string | null;
  askedAt: string;
}

/** The stored messages as turns, in the order the questions were asked (a reply may be stored before a later question). */
export function threadTurns(messages: readonly ConversationMessage[]): StoredTurn[] {
  const turns = new Map<string, StoredTurn>();
  for (const m of messages) {
    const turn = turns.get(m.answerId) ?? { answerId: m.answerId, question: '', reply: null, askedAt: m.createdAt };
    if (m.role === 'user') {
      turn.question = m.content;
      turn.askedAt = m.createdAt;
    } else turn.reply = m.content;
    turns.set(m.answerId, turn);
  }
  return [...turns.values()].sort((a, b) => a.askedAt.localeCompare(b.askedAt));
}

/** Newest activity first (the API orders by last reply; a conversation just started has none yet). */
export function sortConversations<T extends Pick<Conversation, 'createdAt' | 'updatedAt'>>(list: readonly T[]): T[] {
  const at = (c: T) => (c.updatedAt > c.createdAt ? c.updatedAt : c.createdAt);
  return [...list].sort((a, b) => at(b).localeCompare(at(a)));
}

export const conversationTitle = (c: Pick<Conversation, 'title'>) => c.title?.trim() || 'Untitled conversation';

/** A conversation's title from its first question: one line, cut at a word within `max` characters. */
export function titleFromQuestion(question: string, max = 80): string {
  const line = question.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.-]+$/, '')}…`;
}

/** How a grounding report reads in one line: an answer without claims has nothing checked, not "100% passed". */
export interface GroundingSummary {
  kind: 'none' | 'passed' | 'failed';
  /** The score as a percentage, or a dash when there were no claims. */
  value: string;
  text: string;
}

export function groundingSummary(report: GroundingReport | null | undefined): GroundingSummary {
  if (!report) return { kind: 'none', value: '—', text: 'Nothing was retrieved, so there was nothing to check.' };
  const n = report.claims.length;
  if (n === 0) return { kind: 'none', value: '—', text: 'No claims to check.' };
  const supported = report.claims.filter((c) => c.verdict === 'supported').length;
  return {
    kind: report.passed ? 'passed' : 'failed',
    value: formatPercent(report.score),
    text: `${supported} of ${n} ${n === 1 ? 'claim' : 'claims'} supported; ${formatPercent(report.threshold)} needed.`,
  };
}

/**
 * The grounding column of a record without its result (the answers list): an abstention scoring 1 had no claims
 * (with claims, a score of 1 passes any threshold and the answer is released), so it reads as such, not as 100%.
 */
export function recordScoreLabel(a: Pick<AnswerRecord, 'status' | 'groundingScore'>): string {
  if (a.status === 'abstained' && a.groundingScore === 1) return 'No claims';
  return formatPercent(a.groundingScore);
}

/** The local provider's abstention lines, "- Passage 2 does not answer it (closest sentence similarity 0.21): …". */
const CONSIDERED_LINE = /^-\s*Passage (\d+) does not answer it \(([^)]*)\)/;

/** A passage an abstention looked at, with why it did not answer when the model said so. */
export interface ConsideredPassage {
  passage: Citation;
  reason: string | null;
}

/** The passages an abstaining answer considered, each with the model's reason for it when there is one. */
export function consideredPassages(result: AnswerResult): ConsideredPassage[] {
  const reasons = new Map<number, string>();
  for (const line of (result.considered?.modelText ?? '').split('\n')) {
    const m = CONSIDERED_LINE.exec(line.trim());
    if (m) reasons.set(Number(m[1]), m[2]!);
  }
  return (result.considered?.passages ?? []).map((p) => ({ passage: p, reason: reasons.get(p.n) ?? null }));
}

/** Why an answer was not released, in one sentence. */
export function abstentionReason(result: AnswerResult): string {
  if (result.status === 'rejected') return 'A reviewer rejected the answer, so it is withheld.';
  if (result.review?.timedOut) return 'Nobody reviewed the answer before its deadline, so it abstained.';
  if (!result.considered?.passages.length && !result.grounding)
    return 'Nothing relevant was retrieved from the collections.';
  if (result.grounding && result.grounding.claims.length === 0)
    return 'None of the passages retrieved answers the question, so the model declined to answer.';
  if (result.grounding && !result.grounding.passed)
    return `The answer did not pass the grounding gate (${formatPercent(result.grounding.score)} of its claims supported, ${formatPercent(result.grounding.threshold)} needed), so it abstained.`;
  return 'The documents do not answer this question.';
}

/** The model's own words about an abstention, without the per-passage lines shown beside each passage. */
export function abstentionNote(result: AnswerResult): string | null {
  const text = result.considered?.modelText;
  if (!text) return null;
  const kept = text
    .split('\n')
    .filter((l) => !CONSIDERED_LINE.test(l.trim()) && l.trim() !== 'Passages considered:')
    .join('\n')
    .trim();
  return kept || null;
}

/** What a turn shows, from its record and its live stream: the stored result wins once there is one. */
export interface TurnView {
  result: AnswerResult | null;
  status: string;
  running: boolean;
  failure: string | null;
  /** Held for review: the answer and report waiting for a person. */
  pending: { answer: string; grounding: GroundingReport | null; deadline: string | null } | null;
}

export function turnView(record: AnswerRecord | null, live: LiveAnswer): TurnView {
  const result = isAnswerResult(record?.result) ? record.result : live.result;
  const stored = record?.result && 'error' in record.result ? record.result.error : null;
  const failure = result ? null : (stored ?? live.failure);
  const status = result?.status ?? (failure ? 'failed' : (record?.status ?? 'running'));
  let pending: TurnView['pending'] = null;
  if (!result && record?.status === 'pending_review') {
    pending = record.live?.pendingReview ?? {
      answer: live.text,
      grounding: live.grounding,
      deadline: live.reviewDeadline,
    };
  }
  return { result, status, running: !result && !failure && status === 'running', failure, pending };
}

const FINAL: Record<string, string> = {
  answered: 'Answered.',
  abstained: 'Abstained: the documents do not answer it.',
  rejected: 'Rejected by a reviewer.',
  pending_review: 'Held for review.',
  failed: 'The answer failed.',
};

/** The live region's sentence for a turn: its phase while it runs, then how it ended. */
export function turnStatusText(view: TurnView, live: LiveAnswer, sending = false): string {
  if (sending) return 'Sending the question…';
  if (view.running) return live.phase ? `${PHASE_LABELS[live.phase]}…` : 'Answering…';
  return FINAL[view.status] ?? '';
}

/** The options form's checks; null when the values are acceptable (blank means the API's default). */
export function optionErrors(o: { topK: number | ''; threshold: number | '' }): {
  topK: string;
  threshold: string;
} | null {
  const topK =
    o.topK !== '' && (!Number.isInteger(o.topK) || o.topK < 1 || o.topK > 50) ? 'A whole number from 1 to 50.' : '';
  const threshold = o.threshold !== '' && !(o.threshold >= 0 && o.threshold <= 1) ? 'A share from 0 to 1.' : '';
  return topK || threshold ? { topK, threshold } : null;
}

/** Where a cited passage's document is shown in the console. */
export const documentLink = (documentId: string) => `/knowledge/documents/${encodeURIComponent(documentId)}`;
