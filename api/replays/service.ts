import { judgeRefusal } from '../../lib/settings';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  PROMPT_NAMES,
  workflowIds,
  type PromptSelection,
  type PromptSet,
  type ReplayInput,
  type ReplayMode,
  type ReplaySetup,
} from '../../lib/contracts';
import { ReplayEntity, type ReplayRow } from '../../lib/db/entities';
import type { Config } from '../../lib/config';
import type { Orm } from '../../lib/db/orm';
import { badRequest, notFound } from '../../lib/errors';
import { resolvePrompts } from '../../lib/prompts/store';
import { answerableCollections } from '../../lib/rag/collections';
import { REPLAYABLE_STATUSES } from '../../lib/evals/replay-diff';
import { replayAnswers } from '../../workflows/replay';
import { actorLabel, type Principal } from '../auth/api-keys';
import type { QuotaService } from '../quota/service';
import { startRun } from '../runs/start';
import { isUuid } from '../schemas';
import { generationFields, MAX_REPLAY_ANSWERS, retrievalFields, type CreateReplay } from './spec';

/** A replay as the API returns it. */
export interface ReplayView {
  id: string;
  name: string;
  mode: ReplayMode;
  setup: Record<string, unknown>;
  answerIds: string[];
  status: ReplayRow['status'];
  workflowId: string;
  progress: { total: number; done: number; completed: number; failed: number };
  summary: Record<string, unknown> | null;
  error: string | null;
  createdBy: string;
  createdAt: Date;
  completedAt: Date | null;
}

/**
 * Counterfactual replays of past answers (workflows/replay.ts): start one over chosen answers, a filter or a
 * dataset built from answers; list them; read one with its progress and summary, and its per-answer comparisons.
 */
export class ReplaysService {
  constructor(
    private readonly temporal: Client,
    private readonly orm: Orm,
    private readonly config: Pick<Config, 'temporal' | 'llm'>,
    /** Admits each run start within the tenant's quotas. */
    private readonly quotas?: QuotaService,
  ) {}

  async create(principal: Principal, body: CreateReplay): Promise<{ id: string; workflowId: string }> {
    const { tenantId } = principal;
    const em = this.orm.em.fork();
    const misplaced = (body.mode === 'generation' ? retrievalFields : generationFields).filter(
      (f) => body.setup[f] !== undefined,
    );
    if (misplaced.length) {
      throw badRequest(
        'setup_not_for_mode',
        body.mode === 'generation'
          ? `A generation replay keeps the recorded passages: ${misplaced.join(', ')} apply to mode "retrieval".`
          : `A retrieval replay keeps the recorded model and prompts: ${misplaced.join(', ')} apply to mode "generation".`,
        { mode: body.mode, fields: misplaced },
      );
    }
    const refusal = judgeRefusal(body.setup.groundingMethod, this.config.llm.provider);
    if (refusal) throw refusal;
    if (body.setup.collectionIds) await answerableCollections(em, tenantId, body.setup.collectionIds);
    const answerIds = await this.answersOf(tenantId, body);
    const { prompts: selection, ...rest } = body.setup;
    const setup: ReplaySetup = {
      ...rest,
      ...(selection ? { prompts: await this.promptsOf(tenantId, selection) } : {}),
    };

    const id = randomUUID();
    const workflowId = workflowIds.replay(tenantId, id);
    const name = body.name ?? `replay of ${answerIds.length} answer${answerIds.length === 1 ? '' : 's'}`;
    await em.insert(ReplayEntity, {
      id,
      tenantId,
      name,
      mode: body.mode,
      // The selection as asked beside what it resolved to: the console shows "answer: candidate (v3)".
      setup: { ...setup, ...(selection ? { promptSelection: selection } : {}) },
      answerIds,
      status: 'running',
      workflowId,
      createdBy: actorLabel(principal),
    });
    const input: ReplayInput = {
      tenantId,
      replayId: id,
      mode: body.mode,
      answerIds,
      setup,
      actor: actorLabel(principal),
      name,
      ...(body.concurrency ? { concurrency: body.concurrency } : {}),
    };
    try {
      await startRun(
        this.temporal,
        this.config.temporal.taskQueue,
        replayAnswers,
        { workflowId, tenantId, kind: 'replay', args: [input], what: name },
        this.quotas,
      );
    } catch (e) {
      // Refused (quota) or Temporal down: no run, so no row either.
      await em.nativeDelete(ReplayEntity, { tenantId, id });
      throw e;
    }
    return { id, workflowId };
  }

  async list(tenantId: string, limit = 100): Promise<{ replays: ReplayView[] }> {
    const rows = await this.orm.em.fork().find(ReplayEntity, { tenantId }, { orderBy: { createdAt: 'desc' }, limit });
    const counts = await this.counts(
      tenantId,
      rows.map((r) => r.id),
    );
    return { replays: rows.map((r) => view(r, counts.get(r.id))) };
  }

  async get(tenantId: string, id: string): Promise<ReplayView> {
    const row = await this.own(tenantId, id);
    return view(row, (await this.counts(tenantId, [row.id])).get(row.id));
  }

  /** The per-answer comparisons, in answer order, a page at a time. */
  async items(tenantId: string, id: string, page: { offset: number; limit: number }) {
    const row = await this.own(tenantId, id);
    const items = (await this.orm.em
      .fork()
      .getConnection()
      .execute(`select result from replay_items where tenant_id = ? and replay_id = ? order by idx offset ? limit ?`, [
        tenantId,
        row.id,
        page.offset,
        page.limit,
      ])) as Array<{ result: Record<string, unknown> }>;
    return {
      items: items.map((i) => i.result),
      offset: page.offset,
      limit: page.limit,
      total: row.answerIds.length,
    };
  }

  /** The tenant's replay; another tenant's id, or one that is not a uuid, is "not found" like a missing one. */
  private async own(tenantId: string, id: string): Promise<ReplayRow> {
    if (!isUuid(id)) throw notFound('Replay');
    const row = await this.orm.em.fork().findOne(ReplayEntity, { tenantId, id });
    if (!row) throw notFound('Replay');
    return row;
  }

  private async counts(tenantId: string, ids: string[]) {
    if (!ids.length) return new Map<string, { completed: number; failed: number }>();
    const rows = (await this.orm.em
      .fork()
      .getConnection()
      .execute(
        `select replay_id::text as id, count(*) filter (where status = 'completed')::int as completed,
                count(*) filter (where status = 'failed')::int as failed
           from replay_items where tenant_id = ? and replay_id = any(?::uuid[]) group by replay_id`,
        [tenantId, `{${ids.join(',')}}`],
      )) as Array<{ id: string; completed: number; failed: number }>;
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * The answers to replay: those named (every one must be the tenant's, finished and asked by a request), those a
   * filter selects, or those a dataset's latest version was built from.
   */
  private async answersOf(tenantId: string, body: CreateReplay): Promise<string[]> {
    const conn = this.orm.em.fork().getConnection();
    const replayable = (alias = '') =>
      `${alias}origin = 'request' and ${alias}status in (${REPLAYABLE_STATUSES.map((s) => `'${s}'`).join(', ')})`;
    if (body.answerIds) {
      const wanted = [...new Set(body.answerIds)];
      const rows = (await conn.execute(
        `select id::text as id, (${replayable()}) as ok from answers where tenant_id = ? and id = any(?::uuid[])`,
        [tenantId, `{${wanted.join(',')}}`],
      )) as Array<{ id: string; ok: boolean }>;
      const missing = wanted.filter((id) => !rows.some((r) => r.id === id));
      if (missing.length) {
        throw badRequest('answers_not_found', `${missing.length} of the answers were not found.`, {
          answerIds: missing,
        });
      }
      const unfit = rows.filter((r) => !r.ok).map((r) => r.id);
      if (unfit.length) {
        throw badRequest(
          'answers_not_replayable',
          `Only finished answers (${REPLAYABLE_STATUSES.join(' or ')}) asked by a request can be replayed.`,
          { answerIds: unfit },
        );
      }
      return wanted;
    }
    let ids: string[];
    if (body.filter) {
      const f = body.filter;
      const where = [`tenant_id = ?`, replayable()];
      const params: unknown[] = [tenantId];
      const add = (clause: string, value: unknown) => {
        where.push(clause);
        params.push(value);
      };
      if (f.status) add(`status = ?`, f.status);
      if (f.since) add(`created_at >= ?`, new Date(f.since));
      if (f.until) add(`created_at < ?`, new Date(f.until));
      const rows = (await conn.execute(
        `select id::text as id from answers where ${where.join(' and ')} order by created_at desc limit ?`,
        [...params, f.limit],
      )) as Array<{ id: string }>;
      ids = rows.map((r) => r.id);
    } else {
      const rows = (await conn.execute(
        `select distinct on (a.id) a.id::text as id, i.ordinal
           from datasets d
           join dataset_items i on i.dataset_id = d.id and i.version = d.latest_version
           join answers a on a.tenant_id = d.tenant_id and a.id::text = i.item ->> 'sourceAnswerId'
          where d.tenant_id = ? and d.id = ? and ${replayable('a.')}`,
        [tenantId, body.datasetId],
      )) as Array<{ id: string; ordinal: number }>;
      const [dataset] = (await conn.execute(`select 1 from datasets where tenant_id = ? and id = ?`, [
        tenantId,
        body.datasetId,
      ])) as unknown[];
      if (!dataset) throw notFound('Dataset');
      ids = rows
        .sort((a, b) => a.ordinal - b.ordinal)
        .map((r) => r.id)
        .slice(0, MAX_REPLAY_ANSWERS);
    }
    if (!ids.length) throw badRequest('no_answers', 'No finished answers match: nothing to replay.');
    return ids;
  }

  /** Only the prompts asked for: the others stay as each answer recorded them. */
  private async promptsOf(tenantId: string, selection: PromptSelection): Promise<PromptSet> {
    const resolved = await resolvePrompts(this.orm.em.fork(), tenantId, selection);
    return Object.fromEntries(PROMPT_NAMES.filter((n) => selection[n] !== undefined).map((n) => [n, resolved[n]]));
  }
}

function view(r: ReplayRow, counts?: { completed: number; failed: number }): ReplayView {
  const completed = counts?.completed ?? 0;
  const failed = counts?.failed ?? 0;
  return {
    id: r.id,
    name: r.name,
    mode: r.mode,
    setup: r.setup,
    answerIds: r.answerIds,
    status: r.status,
    workflowId: r.workflowId,
    progress: { total: r.answerIds.length, done: completed + failed, completed, failed },
    summary: r.summary ?? null,
    error: r.error ?? null,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    completedAt: r.completedAt ?? null,
  };
}
