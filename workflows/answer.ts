import {
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  CancellationScope,
  patched,
  proxyActivities,
  proxyLocalActivities,
  rootCause,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities, DatabaseActivities } from '../activities';
import {
  ABSTAIN_TEXT,
  durationMs,
  type AnswerInput,
  type AnswerPhase,
  type AnswerResult,
  type AnswerRunEvent,
  type AnswerState,
  type AnswerStatus,
  type AnswerStep,
  type ContextPassage,
  type GroundingReport,
  type PromptName,
  type PromptRef,
  type ResolvedPrompt,
  type ReviewInput,
} from '../lib/contracts';
import { databaseStep, localStep, longModelStep, quickModelStep } from './policies';

type Activities = ReturnType<typeof createActivities>;

const quick = proxyActivities<Activities>(quickModelStep);
const db = proxyActivities<DatabaseActivities>(databaseStep);
const model = proxyActivities<Activities>(longModelStep);
const local = proxyLocalActivities<Activities>(localStep);

/** The prompts an answer run uses; a name its input does not carry is the shipped version 1. */
const ANSWER_PROMPTS = ['answer', 'answer_strict', 'rewrite', 'rerank', 'judge'] as const satisfies PromptName[];

export const answerStateQuery = defineQuery<AnswerState>('answerState');
export const reviewAnswer = defineUpdate<{ accepted: true }, [ReviewInput]>('review');

/**
 * A question answered from a tenant's collections: rewrite (chat) → embed → hybrid retrieval → context assembly →
 * optional rerank → generation with [n] citations → the grounding gate. The gate decides: an answer whose supported
 * share of claims is below the threshold is regenerated once with a stricter prompt over the supported evidence only,
 * and if it still fails, abstains or waits for a human `review` (approve / reject) until a durable deadline.
 */
export async function answer(input: AnswerInput): Promise<AnswerResult> {
  const { workflowId, runId } = workflowInfo();
  const { tenantId, options } = input;
  const started = Date.now();
  // An activity given no prompt uses the shipped text: runs without a resolved set send what they always sent.
  const prompt = (name: PromptName): { prompt?: ResolvedPrompt } =>
    input.prompts?.[name] ? { prompt: input.prompts[name] } : {};
  const promptRefs: PromptRef[] = ANSWER_PROMPTS.map((name) => ({
    name,
    version: input.prompts?.[name]?.version ?? 1,
  }));
  const state: AnswerState = { phase: 'retrieving', steps: [] };
  let review: ReviewInput | undefined;
  setHandler(answerStateQuery, () => state);
  setHandler(
    reviewAnswer,
    (r) => {
      review = r;
      return { accepted: true as const };
    },
    {
      validator: (r) => {
        if (!state.pendingReview || review) throw new Error('This answer is not waiting for review.');
        if (r?.decision !== 'approve' && r?.decision !== 'reject')
          throw new Error('decision must be "approve" or "reject".');
      },
    },
  );

  // Step and phase events wait here and go out with the next phase change. Each event is keyed by run, transition
  // and position, so a transition whose write runs again writes nothing twice. Runs started before the patch wrote
  // each transition with a local activity of its own (about 10 ms inside a workflow task, on the answer's critical
  // path); since it, the step that follows the change writes them as it starts (`carry`), before any event of its
  // own, and only a transition no step follows (waiting for a review) still uses the local activity.
  const carrySteps = patched('answer-steps-carry-events');
  let pending: AnswerRunEvent[] = [];
  let outbox: Array<AnswerRunEvent & { key: string }> = [];
  let transitions = 0;
  const setPhase = async (phase: AnswerPhase, extra: AnswerRunEvent[] = [], opts: { flush?: boolean } = {}) => {
    state.phase = phase;
    const batch = transitions++;
    const events = [...pending, ...extra, { type: 'phase', data: { phase } } satisfies AnswerRunEvent].map((e, i) => ({
      ...e,
      key: `${runId}:${batch}:${i}`,
    }));
    pending = [];
    outbox.push(...events);
    if (carrySteps && !opts.flush) return;
    const out = outbox;
    outbox = [];
    await local.emitAnswerEvents({ tenantId, workflowId, events: out });
  };
  /** The events handed to the latest step that carried any (the steps run one after another). */
  let lastCarried: typeof outbox = [];
  /** A step's input with the events waiting for it (none before the patch: setPhase wrote them). */
  const carry = <T extends object>(input: T): T & { runEvents?: typeof outbox } => {
    if (!outbox.length) return input;
    const runEvents = outbox;
    outbox = [];
    lastCarried = runEvents;
    return { ...input, runEvents };
  };
  /**
   * The failure record's input. Since the patch it carries the latest step's events again (a step cancelled before
   * it started, or one whose write failed with it, left them unwritten; keyed, so those written are not written
   * twice, and all land before `failed`) and the steps finished since the last phase change.
   */
  const carryToFailure = <T extends object>(input: T): T & { runEvents?: typeof outbox } => {
    if (!carrySteps) return carry(input);
    const batch = transitions++;
    const finished = pending.map((e, i) => ({ ...e, key: `${runId}:${batch}:${i}` }));
    pending = [];
    const runEvents = [...lastCarried, ...outbox, ...finished];
    outbox = [];
    return runEvents.length ? { ...input, runEvents } : input;
  };
  const step = async <T>(
    name: string,
    run: () => Promise<T>,
    detail?: (r: T) => Record<string, unknown>,
  ): Promise<T> => {
    const t = Date.now();
    const r = await run();
    const s: AnswerStep = {
      name,
      startedAtMs: t - started,
      ms: Date.now() - t,
      ...(detail ? { detail: detail(r) } : {}),
    };
    state.steps.push(s);
    pending.push({ type: 'step', data: s });
    return r;
  };
  const asEvidence = (passages: ContextPassage[]) => passages.map((p) => ({ id: String(p.n), text: p.text }));
  const ground = (name: string, text: string, passages: ContextPassage[], question: string) =>
    step(
      name,
      () =>
        model.groundAnswer(
          carry({
            tenantId,
            answer: text,
            passages: asEvidence(passages),
            threshold: options.groundingThreshold,
            method: options.groundingMethod,
            question,
            ...prompt('judge'),
          }),
        ),
      (g) => ({ score: g.score, passed: g.passed, method: g.method, claims: g.claims.length }),
    );

  try {
    let query = input.question;
    if (input.history?.length) {
      await setPhase('rewriting');
      query = (
        await step(
          'rewrite',
          () =>
            quick.rewriteQuestion(
              carry({
                tenantId,
                question: input.question,
                history: input.history!,
                model: options.model,
                ...prompt('rewrite'),
              }),
            ),
          (r) => ({ query: r.query, method: r.method }),
        )
      ).query;
    }
    await setPhase('retrieving');
    let passages: ContextPassage[];
    if (carrySteps) {
      // One step: the embedding and the retrieval (whose full-text side runs meanwhile), shown as the two steps.
      const t = Date.now() - started;
      const r = await quick.retrieveForQuestion(
        carry({
          tenantId,
          collectionIds: input.collectionIds,
          query,
          topK: options.topK,
          maxContextTokens: options.maxContextTokens,
        }),
      );
      for (const s of [
        { name: 'embed', startedAtMs: t, ms: r.embedMs },
        {
          name: 'retrieve',
          startedAtMs: t,
          ms: r.retrieveMs,
          detail: {
            retrieved: r.retrieved,
            passages: r.passages.length,
            tokens: r.passages.reduce((n, p) => n + p.tokens, 0),
          },
        },
      ] satisfies AnswerStep[]) {
        state.steps.push(s);
        pending.push({ type: 'step', data: s });
      }
      passages = r.passages;
    } else {
      const { vector } = await step('embed', () =>
        quick.embedQuestion({ tenantId, collectionIds: input.collectionIds, text: query }),
      );
      ({ passages } = await step(
        'retrieve',
        () =>
          db.retrieveContext({
            tenantId,
            collectionIds: input.collectionIds,
            query,
            vector,
            topK: options.topK,
            maxContextTokens: options.maxContextTokens,
          }),
        (r) => ({
          retrieved: r.retrieved,
          passages: r.passages.length,
          tokens: r.passages.reduce((s, p) => s + p.tokens, 0),
        }),
      ));
    }
    if (options.rerank && passages.length > 1) {
      passages = (
        await step(
          'rerank',
          () => quick.rerankContext({ tenantId, question: query, passages, ...prompt('rerank') }),
          (r) => ({ reranked: r.reranked }),
        )
      ).passages;
    }

    let text = ABSTAIN_TEXT;
    let cited: number[] = [];
    let grounding: GroundingReport | null = null;
    let firstAttempt: AnswerResult['firstAttempt'];
    let regenerated = false;
    let status: AnswerStatus = 'abstained';
    let usedModel: string | null = null;
    let reviewed: AnswerResult['review'];
    let considered: AnswerResult['considered'];

    if (passages.length) {
      // Only what the caller set: a run started without them sends the activity the input it always did.
      const sampling = {
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      };
      await setPhase('generating');
      let gen = await step(
        'generate',
        () =>
          model.generateAnswer(
            carry({
              tenantId,
              question: query,
              passages,
              strict: false,
              model: options.model,
              ...sampling,
              ...prompt('answer'),
            }),
          ),
        (g) => ({ model: g.model, citations: g.citations }),
      );
      await setPhase('grounding');
      grounding = await ground('ground', gen.text, passages, query);

      if (!grounding.passed) {
        firstAttempt = { answer: gen.text, grounding };
        // The stricter retry sees only what the check found supported: each supporting span, under its own number.
        const spans = new Map<number, string[]>();
        for (const c of grounding.claims) {
          const n = Number(c.evidence?.id);
          if (c.verdict === 'supported' && c.evidence && passages.some((p) => p.n === n)) {
            spans.set(n, [...(spans.get(n) ?? []), c.evidence.span]);
          }
        }
        const evidence = passages
          .filter((p) => spans.has(p.n))
          .map((p) => ({ ...p, text: [...new Set(spans.get(p.n))].join(' ') }));
        if (evidence.length) {
          await setPhase('regenerating', [{ type: 'grounding', data: grounding }]);
          gen = await step(
            'regenerate',
            () =>
              model.generateAnswer(
                carry({
                  tenantId,
                  question: query,
                  passages: evidence,
                  strict: true,
                  model: options.model,
                  ...sampling,
                  ...prompt('answer_strict'),
                }),
              ),
            (g) => ({ model: g.model, citations: g.citations }),
          );
          await setPhase('grounding');
          grounding = await ground('ground_again', gen.text, evidence, query);
          regenerated = true;
        }
      }
      usedModel = gen.model;
      text = gen.text;
      cited = gen.citations;
      // An answer without claims is the model saying the documents do not answer: an abstention, not a pass.
      status = grounding.passed && grounding.claims.length ? 'answered' : 'abstained';

      if (!grounding.passed && options.policy === 'review') {
        const waitMs = durationMs(options.reviewTimeout) ?? 24 * 3_600_000;
        const deadline = new Date(Date.now() + waitMs).toISOString();
        // The update is accepted from here on, before the record says so: a reviewer who sees it never gets a 409.
        state.pendingReview = { answer: gen.text, grounding, deadline };
        state.phase = 'pending_review';
        await db.markAnswerPendingReview({ tenantId, answerId: input.answerId });
        // Nothing follows to carry these: the run waits for the reviewer next.
        await setPhase(
          'pending_review',
          [
            { type: 'grounding', data: grounding },
            { type: 'review_pending', data: { deadline } },
          ],
          { flush: true },
        );
        const decided = await condition(() => review !== undefined, waitMs);
        state.pendingReview = undefined;
        if (decided && review!.decision === 'approve') status = 'answered';
        else status = decided ? 'rejected' : 'abstained';
        reviewed = decided
          ? { ...review!, at: new Date().toISOString() }
          : { decision: 'reject', at: new Date().toISOString(), timedOut: true, note: 'no review before the deadline' };
      }
      if (status !== 'answered') {
        // What was looked at and, when the model declined by itself, its reason: the reader sees why it abstained.
        considered = { passages, modelText: grounding.claims.length ? null : gen.text };
        text = ABSTAIN_TEXT;
        cited = [];
      }
    }

    await setPhase('saving', grounding ? [{ type: 'grounding', data: grounding }] : []);
    const byN = new Map(passages.map((p) => [p.n, p]));
    const result = await db.completeAnswer(
      carry({
        tenantId,
        conversationId: input.conversationId,
        result: {
          answerId: input.answerId,
          workflowId,
          question: input.question,
          query,
          status,
          answer: text,
          citations: cited.flatMap((n) => byN.get(n) ?? []),
          grounding,
          ...(firstAttempt ? { firstAttempt } : {}),
          regenerated,
          ...(reviewed ? { review: reviewed } : {}),
          ...(considered ? { considered } : {}),
          steps: state.steps,
          latencyMs: Date.now() - started,
          model: usedModel,
          prompts: promptRefs,
          context: passages.map(({ n, chunkId, documentId, collectionId, documentTitle, source }) => ({
            n,
            chunkId,
            documentId,
            collectionId,
            documentTitle,
            source,
          })),
        },
      }),
    );
    state.phase = 'done';
    return result;
  } catch (err) {
    if (!isCancellation(err)) {
      await db.failAnswer(
        carryToFailure({
          tenantId,
          answerId: input.answerId,
          workflowId,
          message: rootCause(err) ?? (err as Error).message,
        }),
      );
    } else {
      await CancellationScope.nonCancellable(() =>
        db.failAnswer(carryToFailure({ tenantId, answerId: input.answerId, workflowId, message: 'cancelled' })),
      );
    }
    throw err;
  }
}
