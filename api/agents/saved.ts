import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import type { Config } from '../../lib/config';
import { SavedAgentEntity, type SavedAgent, type SavedAgentConfig } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, notFound } from '../../lib/errors';
import { actorLabel, type Principal } from '../auth/api-keys';
import type { QuotaService } from '../quota/service';
import { isUuid } from '../schemas';
import { AgentsService, type AgentStart } from './service';

/** A saved agent's name: also its model name `agent/<name>` on the OpenAI-compatible endpoint, hence lower case. */
export const SAVED_AGENT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The goal the save-time check plans with: `plan` needs one, and nothing is started with it. */
const CHECK_GOAL = 'Check the saved agent.';

type Definition = Omit<AgentStart, 'goal' | 'id'>;
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never] ? true : false;
type Expect<T extends true> = T;
/** Compiles only while SavedAgentConfig (lib/db cannot import AgentStart) has exactly AgentStart's other fields. */
export type SavedAgentConfigInStep = Expect<
  [SameKeys<SavedAgentConfig, Definition>, [SavedAgentConfig] extends [Definition] ? true : false] extends [true, true]
    ? true
    : false
>;

/** A saved agent to create: its definition (defaults filled in by the route) with a name and a description. */
export interface NewSavedAgent extends SavedAgentConfig {
  name: string;
  description?: string;
}

/** A change: the fields given replace the saved ones (budgets as a whole); `null` clears an optional one. */
export type SavedAgentPatch = { name?: string; description?: string | null } & {
  [K in keyof SavedAgentConfig]?: undefined extends SavedAgentConfig[K]
    ? SavedAgentConfig[K] | null
    : SavedAgentConfig[K];
};

/** A saved agent as the API answers it: the definition's fields beside its name, as it was sent. */
export type SavedAgentView = ReturnType<typeof view>;

const view = (a: SavedAgent) => ({
  id: a.id,
  name: a.name,
  description: a.description,
  ...a.config,
  createdBy: a.createdBy,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

/** The saved definition with a patch's fields in place; `null` removes a field. */
function patched(config: SavedAgentConfig, changes: Omit<SavedAgentPatch, 'name' | 'description'>): SavedAgentConfig {
  const next: Record<string, unknown> = { ...config };
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = value;
  }
  // Only the optional fields take null (SavedAgentPatch): the required ones are all still there.
  return next as unknown as SavedAgentConfig;
}

const nameTaken = (name: string) =>
  new AppError({
    code: 'name_taken',
    message: `A saved agent named "${name}" exists already.`,
    status: 409,
    category: 'conflict',
    details: { name },
  });

/**
 * The saved agents of one tenant at a time (issue 20): named agent definitions, checked like a run start when saved,
 * run by id here and by name as the model `agent/<name>` of the OpenAI-compatible endpoint.
 */
export class SavedAgentsService {
  private readonly agents: AgentsService;

  constructor(
    temporal: Client,
    private readonly orm: Orm,
    config: Config,
    /** Admits each run start within the tenant's quotas. */
    quotas?: QuotaService,
  ) {
    this.agents = new AgentsService(temporal, orm, config, quotas);
  }

  async list(tenantId: string): Promise<{ agents: SavedAgentView[] }> {
    const rows = await this.orm.em.fork().find(SavedAgentEntity, { tenantId }, { orderBy: { name: 'asc' } });
    return { agents: rows.map(view) };
  }

  async get(tenantId: string, id: string): Promise<SavedAgentView> {
    return view(await this.own(tenantId, id));
  }

  /** The tenant's agent of that name, or null (a name no agent can have is not looked up). */
  async byName(tenantId: string, name: string): Promise<SavedAgent | null> {
    if (!SAVED_AGENT_NAME.test(name)) return null;
    return this.orm.em.fork().findOne(SavedAgentEntity, { tenantId, name });
  }

  async create(principal: Principal, body: NewSavedAgent): Promise<SavedAgentView> {
    const { tenantId } = principal;
    const { name, description, ...config } = body;
    await this.check(tenantId, config);
    const em = this.orm.em.fork();
    const row = em.create(SavedAgentEntity, {
      id: randomUUID(),
      tenantId,
      name,
      description: description || null,
      config,
      createdBy: actorLabel(principal),
    });
    try {
      await em.flush();
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw nameTaken(name);
      throw e;
    }
    return view(row);
  }

  async update(tenantId: string, id: string, patch: SavedAgentPatch): Promise<SavedAgentView> {
    const row = await this.own(tenantId, id);
    const { name, description, ...changes } = patch;
    const config = patched(row.config, changes);
    // Only a changed definition is checked again: a rename must not fail on a tool disabled since.
    if (Object.keys(changes).length) await this.check(tenantId, config);
    try {
      await this.orm.em.fork().nativeUpdate(
        SavedAgentEntity,
        { tenantId, id: row.id },
        {
          ...(name !== undefined ? { name } : {}),
          ...(description !== undefined ? { description: description || null } : {}),
          config,
          updatedAt: new Date(),
        },
      );
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw nameTaken(name ?? row.name);
      throw e;
    }
    return view(await this.own(tenantId, row.id));
  }

  async remove(tenantId: string, id: string): Promise<void> {
    const row = await this.own(tenantId, id);
    await this.orm.em.fork().nativeDelete(SavedAgentEntity, { tenantId, id: row.id });
  }

  /**
   * The run start of a saved agent for a goal (checked by the caller), with the caller's model, temperature or run
   * id in place of the saved ones; `AgentsService.plan` then checks it as it checks any start.
   */
  startBody(
    agent: Pick<SavedAgent, 'config'>,
    goal: string,
    overrides: { model?: string; temperature?: number; id?: string } = {},
  ): AgentStart {
    const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as typeof overrides;
    return { ...agent.config, goal, ...given };
  }

  /** Starts a normal agent run of the saved agent (same workflow, listed with the others); with `wait`, its result. */
  async run(tenantId: string, id: string, req: { goal: string; id?: string; wait: boolean }) {
    const agent = await this.own(tenantId, id);
    const planned = await this.agents.plan(tenantId, this.startBody(agent, req.goal, { id: req.id }));
    return this.agents.start(planned, req.wait, { what: `${agent.name}: ${req.goal}` });
  }

  /** The tools, collections and prompt as a run start checks them: a bad list is a 400 when saved, not at a run. */
  private async check(tenantId: string, config: SavedAgentConfig): Promise<void> {
    await this.agents.plan(tenantId, { ...config, goal: CHECK_GOAL });
  }

  /** The tenant's agent; another tenant's id, or one that is not a uuid, is "not found" like a missing one. */
  private async own(tenantId: string, id: string): Promise<SavedAgent> {
    if (!isUuid(id)) throw notFound('Saved agent');
    const row = await this.orm.em.fork().findOne(SavedAgentEntity, { tenantId, id });
    if (!row) throw notFound('Saved agent');
    return row;
  }
}
