import { randomUUID } from 'node:crypto';
import { rootCause } from '@temporalio/common';
import {
  ABSTAIN_TEXT,
  workflowIds,
  type AgentRunResult,
  type AgentState,
  type AnswerResult,
  type HistoryMessage,
  type AnswerOptions,
} from '../../lib/contracts';
import { CollectionEntity, type Collection, type SavedAgent } from '../../lib/db/entities';
import { AppError, badRequest } from '../../lib/errors';
import { agentStateQuery, type agent } from '../../workflows/agent';
import { embedding } from '../../workflows/completion';
import { SavedAgentsService } from '../agents/saved';
import { AgentsService } from '../agents/service';
import { AnswersService, HISTORY_MESSAGES, shortRunResult, type PublicAnswer } from '../answers/service';
import type { AppDeps } from '../deps';
import { startRun } from '../runs/start';
import type { beyondcloudExtra, ChatCompletionBody, ChatMessageIn, EmbeddingsBody, modelObject } from './spec';
import type { z } from 'zod';

export type ModelObject = z.infer<typeof modelObject>;
export type BeyondCloudExtra = z.infer<typeof beyondcloudExtra>;

/** The most collections one question searches (the answers API's own limit). */
const MAX_COLLECTIONS = 20;
const QUESTION_MAX = 4000;
/** The footer this endpoint appends to answers; taken off again when a client sends the answer back as history. */
const FOOTER_START = '\n\nSources:\n';
const FOOTER = /\n\nSources:\n(?:\[\d+\] [^\n]*\n?)+$/;

/** What a model name resolves to: the collections a grounded answer searches, or a saved agent. */
export type ResolvedModel =
  { id: string; kind: 'rag'; collections: Collection[] } | { id: string; kind: 'agent'; agent: SavedAgent };

/** A started chat: the run to wait for (and cancel when the client leaves). */
export interface StartedChat {
  /** The answer's id, or the agent run's (the uuid of `agent:<tenant>:<uuid>`). */
  id: string;
  kind: 'answer' | 'agent';
  workflowId: string;
  model: string;
  created: number;
  /** Append the numbered sources to the content. */
  footer: boolean;
}

/** A finished chat as an OpenAI client receives it. */
export interface ChatOutcome {
  content: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  beyondcloud: BeyondCloudExtra;
}

const modelNotFound = (model: string) =>
  new AppError({
    code: 'model_not_found',
    message: `The model \`${model.slice(0, 300)}\` does not exist or you do not have access to it.`,
    status: 404,
    category: 'not_found',
  });

const unixSeconds = (d: Date | undefined) => Math.floor((d?.getTime() ?? Date.now()) / 1000);

/** A message's text: its string content or its text parts; other parts (images, audio, files) are refused. */
function textOf(m: ChatMessageIn, index: number): string {
  if (m.content === undefined || m.content === null) return '';
  if (typeof m.content === 'string') return m.content;
  return m.content
    .map((part, j) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      throw new AppError({
        code: 'unsupported_content',
        message: `Only text content is taken; messages[${index}].content[${j}] is \`${part.type}\`.`,
        status: 400,
        category: 'user',
        details: [{ path: ['messages', index, 'content', j, 'type'], message: 'only text parts are taken' }],
      });
    })
    .join('\n');
}

/**
 * The question (the last message, a user's) and the chat before it (user and assistant turns, the sources footer
 * taken off; system and tool messages do not steer a grounded answer: the tenant's versioned answer prompt does).
 */
export function questionAndHistory(messages: ChatMessageIn[]): { question: string; history: HistoryMessage[] } {
  const lastIndex = messages.length - 1;
  const last = messages[lastIndex]!;
  const question = textOf(last, lastIndex).trim();
  if (last.role !== 'user' || !question) {
    throw new AppError({
      code: 'question_required',
      message: 'The last message must be the user’s question, with text.',
      status: 400,
      category: 'user',
      details: [{ path: ['messages', lastIndex], message: 'must be a user message with text' }],
    });
  }
  if (question.length > QUESTION_MAX) {
    throw new AppError({
      code: 'question_too_long',
      message: `The question is longer than ${QUESTION_MAX} characters.`,
      status: 400,
      category: 'user',
      details: [{ path: ['messages', lastIndex, 'content'], message: `at most ${QUESTION_MAX} characters` }],
    });
  }
  const history: HistoryMessage[] = [];
  messages.slice(0, lastIndex).forEach((m, i) => {
    if (m.role !== 'user' && m.role !== 'assistant') return;
    const text = textOf(m, i).replace(FOOTER, '').trim();
    if (text) history.push({ role: m.role, content: text.slice(0, 20_000) });
  });
  return { question, history: history.slice(-HISTORY_MESSAGES) };
}

/** The answer's content for an OpenAI client: its text (with `[n]` markers) and, unless asked not to, its sources. */
export function contentOf(result: Pick<AnswerResult, 'answer' | 'citations'>, footer: boolean): string {
  if (!footer || !result.citations.length) return result.answer;
  const byN = new Map<number, (typeof result.citations)[number]>();
  for (const c of result.citations) if (!byN.has(c.n)) byN.set(c.n, c);
  const lines = [...byN.values()]
    .sort((a, b) => a.n - b.n)
    .map((c) => {
      const title = c.documentTitle && c.documentTitle !== c.source ? `${c.documentTitle} — ${c.source}` : c.source;
      return `[${c.n}] ${title}${c.page ? ` (p. ${c.page})` : ''}`.replace(/\n/g, ' ');
    });
  return `${result.answer}${FOOTER_START}${lines.join('\n')}`;
}

/**
 * BeyondCloud as an OpenAI-compatible model (issue 20): the tenant's collections are models, a chat completion is an
 * `answer` run (durable, traced, grounded, in the runs list), an embedding is an `embedding` run with a collection's
 * own embedding model. Every method takes the tenant from the caller; a foreign collection is not a model.
 */
export class OpenAiService {
  private readonly answers: AnswersService;
  private readonly agents: AgentsService;
  private readonly saved: SavedAgentsService;

  constructor(private readonly deps: AppDeps) {
    this.answers = new AnswersService(deps.temporal, deps.orm, deps.config, deps.quotas, deps.llm);
    this.agents = new AgentsService(deps.temporal, deps.orm, deps.config, deps.quotas);
    this.saved = new SavedAgentsService(deps.temporal, deps.orm, deps.config, deps.quotas);
  }

  /** `rag/<name>` per collection (`rag/<id>` when two share a name), and `rag/*` when one question can search all. */
  async models(tenantId: string): Promise<ModelObject[]> {
    const collections = await this.collections(tenantId);
    const named = new Map<string, number>();
    for (const c of collections) named.set(c.name, (named.get(c.name) ?? 0) + 1);
    const models: ModelObject[] = collections.map((c) => ({
      id: `rag/${named.get(c.name) === 1 && validModelPart(c.name) ? c.name : c.id}`,
      object: 'model',
      created: unixSeconds(c.createdAt),
      owned_by: 'beyondcloud',
      description: `Grounded answers from the collection “${c.name}”${c.description ? `: ${c.description}` : ''}`,
    }));
    const { agents } = await this.saved.list(tenantId);
    for (const a of agents) {
      models.push({
        id: `agent/${a.name}`,
        object: 'model',
        created: unixSeconds(a.createdAt),
        owned_by: 'beyondcloud',
        description: a.description ? `Agent: ${a.description}` : `The saved agent “${a.name}”`,
      });
    }
    if (allSearchable(collections)) {
      models.unshift({
        id: 'rag/*',
        object: 'model',
        created: Math.min(...collections.map((c) => unixSeconds(c.createdAt))),
        owned_by: 'beyondcloud',
        description: `Grounded answers from all ${collections.length} collections`,
      });
    }
    return models;
  }

  /** A model name of this tenant: 404 `model_not_found` (OpenAI's code) for anything else, foreign ids included. */
  async resolve(tenantId: string, model: string): Promise<ResolvedModel> {
    const [prefix, ...rest] = model.split('/');
    const name = rest.join('/');
    if (prefix === 'agent' && name) {
      const agent = await this.saved.byName(tenantId, name);
      if (!agent) throw modelNotFound(model);
      return { id: model, kind: 'agent', agent };
    }
    if (prefix !== 'rag' || !name) throw modelNotFound(model);
    const collections = await this.collections(tenantId);
    if (name === '*') {
      if (!collections.length) throw modelNotFound(model);
      if (!allSearchable(collections)) {
        throw badRequest(
          'model_unavailable',
          `rag/* needs every collection to share one embedding model and at most ${MAX_COLLECTIONS} collections; name one collection instead (GET /v1/openai/models).`,
        );
      }
      return { id: model, kind: 'rag', collections };
    }
    const byId = collections.find((c) => c.id === name);
    if (byId) return { id: model, kind: 'rag', collections: [byId] };
    const byName = collections.filter((c) => c.name === name);
    if (byName.length > 1) {
      throw badRequest(
        'model_ambiguous',
        `${byName.length} collections are named “${name.slice(0, 200)}”; use rag/<collection id> (GET /v1/openai/models lists them).`,
      );
    }
    if (!byName.length) throw modelNotFound(model);
    return { id: model, kind: 'rag', collections: byName };
  }

  /** Starts the chat's answer run (quota-admitted like every run start) without waiting for it. */
  async startChat(tenantId: string, body: ChatCompletionBody): Promise<StartedChat> {
    const model = await this.resolve(tenantId, body.model);
    const { question, history } = questionAndHistory(body.messages);
    const id = randomUUID();
    const client = {
      api: 'openai',
      model: model.id,
      ...(body.user ? { user: body.user } : {}),
      ...(body.metadata ? { metadata: body.metadata } : {}),
    };
    const footer = (body.beyondcloud?.sources ?? 'footer') === 'footer';
    if (model.kind === 'agent') {
      const start = this.saved.startBody(model.agent, agentGoal(question, history), {
        id,
        ...(body.temperature != null ? { temperature: body.temperature } : {}),
      });
      const system = systemText(body.messages);
      if (system)
        start.instructions = [start.instructions, `The client's instructions:\n${system}`].filter(Boolean).join('\n\n');
      const planned = await this.agents.plan(tenantId, start);
      await this.agents.start(planned, false, { what: `${model.id}: ${question}`, memo: { client } });
      return {
        id,
        kind: 'agent',
        workflowId: planned.workflowId,
        model: model.id,
        created: unixSeconds(undefined),
        footer,
      };
    }
    const options: Partial<AnswerOptions> = {
      ...(body.temperature != null ? { temperature: body.temperature } : {}),
      ...((body.max_completion_tokens ?? body.max_tokens) != null
        ? { maxTokens: (body.max_completion_tokens ?? body.max_tokens)! }
        : {}),
      ...(body.beyondcloud?.topK !== undefined ? { topK: body.beyondcloud.topK } : {}),
      ...(body.beyondcloud?.groundingThreshold !== undefined
        ? { groundingThreshold: body.beyondcloud.groundingThreshold }
        : {}),
      ...(body.beyondcloud?.policy !== undefined ? { policy: body.beyondcloud.policy } : {}),
    };
    const started = await this.answers.start(tenantId, {
      id,
      question,
      collectionIds: model.collections.map((c) => c.id),
      options,
      history,
      memo: { client },
    });
    return {
      id,
      kind: 'answer',
      workflowId: started.workflowId,
      model: model.id,
      created: unixSeconds(undefined),
      footer,
    };
  }

  /**
   * Waits for the chat's answer up to `ms`: its outcome when it is final or held for review (which answers with the
   * abstention text, as the policy says, and leaves the answer waiting for its reviewer), null while it runs. A
   * failed run is a 502 naming it.
   */
  async outcome(tenantId: string, chat: StartedChat, wait: { ms: number; gone?: () => boolean }) {
    if (chat.kind === 'agent') return this.agentOutcome(chat, wait);
    const a = await this.answers.view(tenantId, chat.id, { ms: wait.ms, gone: wait.gone });
    if (a.status === 'running') return null;
    if (a.status === 'failed') {
      throw new AppError({
        code: 'answer_failed',
        message: `The answer run failed: ${(a.result as { error?: string } | undefined)?.error ?? 'see the run'}`,
        status: 502,
        category: 'dependency',
        details: { workflowId: chat.workflowId },
      });
    }
    return outcomeOf(a, chat);
  }

  /**
   * The agent run's outcome within `ms`: its final text when it completes, or, when it stops to wait for a person to
   * approve a sensitive tool call, a message saying so (the run waits on; the client is not held for hours). A run
   * that failed or was canceled is a 502 naming it.
   */
  private async agentOutcome(chat: StartedChat, wait: { ms: number; gone?: () => boolean }) {
    const handle = this.deps.temporal.workflow.getHandle<typeof agent>(chat.workflowId);
    const until = Date.now() + wait.ms;
    let queriedAt = 0;
    for (;;) {
      const status = (await handle.describe()).status.name;
      if (status === 'COMPLETED') return agentOutcomeOf(await handle.result(), chat);
      if (status !== 'RUNNING' && status !== 'CONTINUED_AS_NEW') {
        const cause = await handle.result().then(
          () => null,
          (e: unknown) => rootCause(e as Error) ?? null,
        );
        throw new AppError({
          code: 'agent_run_failed',
          message: `The agent run ${status.toLowerCase()}${cause ? `: ${cause}` : ''}.`,
          status: 502,
          category: 'dependency',
          details: { workflowId: chat.workflowId },
        });
      }
      if (Date.now() - queriedAt >= 1_000) {
        queriedAt = Date.now();
        const state = await handle.query(agentStateQuery).catch(() => null);
        if (state?.pendingApproval) return approvalOutcomeOf(state, chat);
      }
      if (Date.now() >= until || wait.gone?.()) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The client left before its answer: the run is canceled (nobody is waiting for it). */
  async cancel(chat: StartedChat): Promise<void> {
    await this.deps.temporal.workflow
      .getHandle(chat.workflowId)
      .cancel()
      .catch(() => undefined);
  }

  /** Texts embedded with a collection's own embedding model, as an `embedding` run. */
  async embeddings(tenantId: string, body: EmbeddingsBody) {
    const model = await this.resolve(tenantId, body.model);
    if (model.kind !== 'rag') {
      throw badRequest(
        'model_not_embedding',
        `${model.id} is an agent; embeddings come from a collection’s model (rag/<collection>).`,
      );
    }
    const collection = model.collections[0]!;
    if (body.dimensions != null && body.dimensions !== collection.embeddingDim) {
      throw new AppError({
        code: 'dimensions_unsupported',
        message: `This model embeds in ${collection.embeddingDim} dimensions (the collection’s); dimensions ${body.dimensions} cannot be served.`,
        status: 400,
        category: 'user',
        details: [{ path: ['dimensions'], message: `must be ${collection.embeddingDim}` }],
      });
    }
    const texts = typeof body.input === 'string' ? [body.input] : body.input;
    const id = randomUUID();
    const handle = await startRun(
      this.deps.temporal,
      this.deps.config.temporal.taskQueue,
      embedding,
      {
        workflowId: workflowIds.embedding(tenantId, id),
        tenantId,
        kind: 'llm',
        collectionId: collection.id,
        what: `embed ${texts.length} text${texts.length === 1 ? '' : 's'} (${model.id})`,
        args: [{ tenantId, texts, model: collection.embeddingModel }],
      },
      this.deps.quotas,
    );
    const run = await shortRunResult<{ vectors: number[][]; usage: { inputTokens: number } }>(handle);
    if (!run.done) {
      throw new AppError({
        code: 'embedding_timeout',
        message: 'The embedding run did not finish within a minute; it goes on as its run.',
        status: 504,
        category: 'dependency',
        details: { workflowId: handle.workflowId },
      });
    }
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list' as const,
      model: model.id,
      data: run.value.vectors.map((v, index) => ({
        object: 'embedding' as const,
        index,
        embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
      })),
      usage: { prompt_tokens: run.value.usage.inputTokens, total_tokens: run.value.usage.inputTokens },
    };
  }

  private collections(tenantId: string): Promise<Collection[]> {
    return this.deps.orm.em
      .fork()
      .find(CollectionEntity, { tenantId }, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: 1000 });
  }
}

/** A collection name usable as the part after `rag/` (no slash, no spaces at the ends, not `*`). */
const validModelPart = (name: string) => name !== '*' && !name.includes('/') && name.trim() === name && name.length > 0;

/** One question can search every collection: at most MAX_COLLECTIONS, one embedding model among them. */
const allSearchable = (collections: Collection[]) =>
  collections.length > 0 &&
  collections.length <= MAX_COLLECTIONS &&
  new Set(collections.map((c) => `${c.embeddingModel}/${c.embeddingDim}`)).size === 1;

/** The system and developer messages' text: the client's instructions to an agent. */
function systemText(messages: ChatMessageIn[]): string {
  return messages
    .map((m, i) => (m.role === 'system' || m.role === 'developer' ? textOf(m, i).trim() : ''))
    .filter(Boolean)
    .join('\n')
    .slice(0, 8_000);
}

/** An agent's goal: the question, after the chat so far (its last 8,000 characters) when there is one. */
export function agentGoal(question: string, history: HistoryMessage[]): string {
  if (!history.length) return question;
  const transcript = history.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content}`).join('\n\n');
  return `The conversation so far:\n\n${transcript.slice(-8_000)}\n\nThe user now asks: ${question}`;
}

const agentUsage = (u: AgentRunResult['usage']) => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.inputTokens + u.outputTokens,
});

const agentExtra = (chat: StartedChat, status: string, trace: AgentRunResult['trace'], costUsd: number) => ({
  answerId: null,
  workflowId: chat.workflowId,
  kind: 'agent' as const,
  status,
  sources: [],
  grounding: null,
  toolCalls: trace.map((t) => ({ tool: t.tool, outcome: t.outcome })),
  costUsd,
});

function agentOutcomeOf(r: AgentRunResult, chat: StartedChat): ChatOutcome {
  return {
    content: r.finalText ?? `The agent stopped (${r.stopReason ?? r.status}) before it had a final answer.`,
    usage: agentUsage(r.usage),
    beyondcloud: agentExtra(chat, r.status, r.trace, r.usage.costUsd),
  };
}

function approvalOutcomeOf(state: AgentState, chat: StartedChat): ChatOutcome {
  const p = state.pendingApproval!;
  return {
    content: `The agent is waiting for a person to approve its call of ${p.server}/${p.toolName} (until ${p.expiresAt}). It can be approved or rejected in the console (Agents → Approvals); run ${chat.workflowId} then goes on.`,
    usage: agentUsage(state.usage),
    beyondcloud: agentExtra(chat, 'waiting_for_approval', state.trace, state.usage.costUsd),
  };
}

function outcomeOf(a: PublicAnswer, chat: StartedChat): ChatOutcome {
  const result = a.result as AnswerResult | undefined;
  const held = a.status === 'pending_review';
  const content = held || !result ? ABSTAIN_TEXT : contentOf(result, chat.footer);
  const usage = result?.usage ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  const grounding = result?.grounding ?? null;
  return {
    content,
    usage: {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
    beyondcloud: {
      answerId: chat.id,
      workflowId: chat.workflowId,
      kind: 'answer',
      status: a.status,
      sources: held
        ? []
        : (result?.citations ?? []).map((c) => ({
            n: c.n,
            title: c.documentTitle,
            source: c.source,
            page: c.page,
            documentId: c.documentId,
            collectionId: c.collectionId,
            chunkId: c.chunkId,
            text: c.text,
          })),
      grounding:
        held || !grounding
          ? null
          : {
              score: grounding.score,
              threshold: grounding.threshold,
              passed: grounding.passed,
              method: grounding.method,
              claims: grounding.claims.map((c) => ({
                claim: c.claim,
                verdict: c.verdict,
                confidence: c.confidence,
                source: c.evidence && /^\d+$/.test(c.evidence.id) ? Number(c.evidence.id) : null,
              })),
            },
      costUsd: usage.costUsd,
    },
  };
}
