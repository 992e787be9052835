import { describe, expect, it } from 'vitest';
import type { AnswerRecord } from '../api/answer-types';
import type { ConversationMessage } from '../api/conversations';
import { emptyLive } from './answer-stream';
import {
  abstentionNote,
  abstentionReason,
  consideredPassages,
  groundingSummary,
  optionErrors,
  recordScoreLabel,
  sortConversations,
  threadTurns,
  titleFromQuestion,
  turnStatusText,
  turnView,
} from './chat';
import { answerResult } from './test-fixtures';

const message = (
  role: ConversationMessage['role'],
  answerId: string,
  content: string,
  createdAt: string,
): ConversationMessage => ({ id: `${role}-${answerId}`, conversationId: 'c1', role, content, answerId, createdAt });

const record = (extra: Partial<AnswerRecord> = {}): AnswerRecord => ({
  id: 'a1',
  workflowId: 'answer:t1:a1',
  conversationId: 'c1',
  question: 'Q?',
  status: 'running',
  answer: null,
  groundingScore: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  completedAt: null,
  ...extra,
});

describe('thread', () => {
  it('pairs each question with its reply, in the order asked, a reply still missing as null', () => {
    const turns = threadTurns([
      message('user', 'a1', 'What is the default protocol?', '2025-01-01T00:00:01Z'),
      message('user', 'a2', 'When was it added?', '2025-01-01T00:00:05Z'),
      // The first reply is stored after the second question was asked.
      message('assistant', 'a1', 'Protocol 5 [1].', '2025-01-01T00:00:06Z'),
    ]);
    expect(turns).toEqual([
      {
        answerId: 'a1',
        question: 'What is the default protocol?',
        reply: 'Protocol 5 [1].',
        askedAt: '2025-01-01T00:00:01Z',
      },
      { answerId: 'a2', question: 'When was it added?', reply: null, askedAt: '2025-01-01T00:00:05Z' },
    ]);
  });

  it('lists conversations by their latest activity, newest first', () => {
    const c = (id: string, createdAt: string, updatedAt: string) => ({ id, createdAt, updatedAt });
    const sorted = sortConversations([
      c('old', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
      c('replied', '2025-01-01T00:00:01Z', '2025-01-03T00:00:00Z'),
      c('new', '2025-01-02T00:00:00Z', '2025-01-02T00:00:00Z'),
    ]);
    expect(sorted.map((x) => x.id)).toEqual(['replied', 'new', 'old']);
  });

  it('titles a conversation by its first question, on one line, cut at a word', () => {
    expect(titleFromQuestion('  What is\nthe default   protocol? ')).toBe('What is the default protocol?');
    const long =
      'How does the pickle module serialize a Python object structure, and which protocol is the default one?';
    const title = titleFromQuestion(long, 40);
    expect(title.length).toBeLessThanOrEqual(40);
    expect(title).toBe('How does the pickle module serialize a…');
  });
});

describe('grounding summary', () => {
  it('reads "no claims to check" when there were no claims, never 100% passed', () => {
    const report = { ...answerResult().grounding!, score: 1, passed: true, claims: [] };
    expect(groundingSummary(report)).toEqual({ kind: 'none', value: '—', text: 'No claims to check.' });
    expect(groundingSummary(null).kind).toBe('none');
  });

  it('gives the score and the supported share otherwise', () => {
    expect(groundingSummary(answerResult().grounding)).toEqual({
      kind: 'failed',
      value: '50%',
      text: '1 of 2 claims supported; 75% needed.',
    });
    const passed = { ...answerResult().grounding!, score: 1, passed: true };
    expect(groundingSummary(passed).kind).toBe('passed');
  });

  it('labels an abstention scoring 1 in the answers list as having no claims', () => {
    expect(recordScoreLabel({ status: 'abstained', groundingScore: 1 })).toBe('No claims');
    expect(recordScoreLabel({ status: 'answered', groundingScore: 1 })).toBe('100%');
    expect(recordScoreLabel({ status: 'abstained', groundingScore: 0.4 })).toBe('40%');
    expect(recordScoreLabel({ status: 'running', groundingScore: null })).toBe('—');
  });
});

describe('abstentions', () => {
  const passages = answerResult().citations;
  const abstained = answerResult({
    status: 'abstained',
    answer: 'The documents do not say.',
    citations: [],
    grounding: { ...answerResult().grounding!, score: 1, passed: true, claims: [] },
    considered: {
      passages,
      modelText: [
        'The provided documents do not contain an answer to this question.',
        'Passages considered:',
        '- Passage 1 does not answer it (closest sentence similarity 0.21): “pickle › Protocols”',
        "- Passage 2 does not answer it (at most 20% of the question's words in one sentence): “history”",
      ].join('\n'),
    },
  });

  it('pairs each passage considered with the reason the model gave for it', () => {
    expect(consideredPassages(abstained).map((p) => [p.passage.n, p.reason])).toEqual([
      [1, 'closest sentence similarity 0.21'],
      [2, "at most 20% of the question's words in one sentence"],
    ]);
    expect(abstentionNote(abstained)).toBe('The provided documents do not contain an answer to this question.');
    expect(abstentionReason(abstained)).toMatch(/None of the passages retrieved answers/);
  });

  it('says why an answer was withheld: nothing retrieved, the gate, a reviewer', () => {
    expect(consideredPassages(answerResult({ status: 'abstained', considered: undefined }))).toEqual([]);
    expect(abstentionReason(answerResult({ status: 'abstained', grounding: null }))).toMatch(/Nothing relevant/);
    expect(abstentionReason(answerResult({ status: 'abstained' }))).toMatch(/50% of its claims supported, 75% needed/);
    expect(abstentionReason(answerResult({ status: 'rejected' }))).toMatch(/reviewer rejected/);
    const model = answerResult({
      status: 'abstained',
      considered: { passages, modelText: 'The documents do not say.' },
    });
    expect(consideredPassages(model).map((p) => p.reason)).toEqual([null, null]);
    expect(abstentionNote(model)).toBe('The documents do not say.');
  });
});

describe('turn view', () => {
  it('streams while running, then shows the stored result', () => {
    const live = { ...emptyLive(), phase: 'generating' as const, text: 'Protocol' };
    const running = turnView(record(), live);
    expect(running).toMatchObject({ running: true, status: 'running', result: null, pending: null });
    expect(turnStatusText(running, live)).toBe('Generating the answer…');
    const done = turnView(record({ status: 'answered', result: answerResult() }), live);
    expect(done).toMatchObject({ running: false, status: 'answered' });
    expect(turnStatusText(done, live)).toBe('Answered.');
    expect(turnStatusText(done, live, true)).toBe('Sending the question…');
  });

  it('takes a streamed result before the record catches up, and a failure from either', () => {
    const streamed = { ...emptyLive(), result: answerResult({ status: 'abstained' }) };
    expect(turnView(record(), streamed).status).toBe('abstained');
    expect(turnView(record({ status: 'failed', result: { error: 'boom' } }), emptyLive())).toMatchObject({
      status: 'failed',
      failure: 'boom',
      running: false,
    });
  });

  it('holds an answer for review with what the workflow holds, or what the stream saw', () => {
    const grounding = answerResult().grounding!;
    const held = record({
      status: 'pending_review',
      live: { phase: 'pending_review', steps: [], pendingReview: { answer: 'P4 [1].', grounding, deadline: 'd' } },
    });
    expect(turnView(held, emptyLive()).pending).toEqual({ answer: 'P4 [1].', grounding, deadline: 'd' });
    const live = { ...emptyLive(), text: 'streamed', grounding, reviewDeadline: 'd2' };
    expect(turnView(record({ status: 'pending_review' }), live).pending).toEqual({
      answer: 'streamed',
      grounding,
      deadline: 'd2',
    });
    expect(turnStatusText(turnView(held, emptyLive()), emptyLive())).toBe('Held for review.');
  });
});

describe('options', () => {
  it('accepts blanks and values in range, and names what is wrong', () => {
    expect(optionErrors({ topK: '', threshold: '' })).toBeNull();
    expect(optionErrors({ topK: 6, threshold: 0.75 })).toBeNull();
    expect(optionErrors({ topK: 0, threshold: 0.5 })).toEqual({ topK: 'A whole number from 1 to 50.', threshold: '' });
    expect(optionErrors({ topK: 2.5, threshold: 1.5 })).toEqual({
      topK: 'A whole number from 1 to 50.',
      threshold: 'A share from 0 to 1.',
    });
  });
});
