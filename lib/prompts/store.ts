/**
 * A tenant's versioned prompts: versions it added (2, 3, ...; version 1 is the shipped text of lib/prompts/defaults)
 * and labels pointing at versions. A run resolves its whole prompt set when it starts (`resolvePrompts`), so what
 * a label says later never changes a run already going.
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import {
  PRODUCTION_LABEL,
  PROMPT_NAMES,
  type PromptName,
  type PromptSelection,
  type PromptSet,
  type ResolvedPrompt,
} from '../contracts';
import { PromptLabelEntity, PromptVersionEntity, type PromptLabelRow, type PromptVersionRow } from '../db/entities';
import { AppError, badRequest, notFound } from '../errors';
import { DEFAULT_PROMPT_VERSION, DEFAULT_PROMPTS, isPromptName, PROMPT_PURPOSES } from './defaults';

/** A label's name: lowercase letters, digits, `_` and `-`, at most 40. */
export const PROMPT_LABEL_PATTERN = /^[a-z0-9_-]{1,40}$/;
export const PROMPT_TEXT_MAX_CHARS = 20_000;
export const PROMPT_NOTE_MAX_CHARS = 2_000;
/** Bounds on what one tenant stores per prompt name. */
export const MAX_PROMPT_VERSIONS = 500;
export const MAX_PROMPT_LABELS = 20;

export interface PromptVersionView {
  version: number;
  /** Version 1: the text BeyondCloud ships. */
  shipped: boolean;
  note: string | null;
  createdBy: string | null;
  createdAt: Date | null;
  /** The labels pointing at it. */
  labels: string[];
}

export interface PromptLabelView {
  label: string;
  version: number;
  updatedBy: string | null;
  updatedAt: Date | null;
}

export interface PromptSummary {
  name: PromptName;
  purpose: string;
  /** The version new runs use: the `production` label's, else 1. */
  production: number;
  labels: PromptLabelView[];
  versions: PromptVersionView[];
}

export interface PromptDetail extends Omit<PromptSummary, 'versions'> {
  versions: Array<PromptVersionView & { text: string }>;
}

const promptNotFound = () => notFound('Prompt');

export function checkPromptName(name: string): PromptName {
  if (!isPromptName(name)) throw promptNotFound();
  return name;
}

export function checkLabel(label: string): string {
  if (!PROMPT_LABEL_PATTERN.test(label))
    throw badRequest(
      'invalid_prompt_label',
      `"${label.slice(0, 60)}" is not a label name: use 1 to 40 lowercase letters, digits, "_" or "-".`,
    );
  return label;
}

const versionNotFound = (name: PromptName, version: number) =>
  badRequest('prompt_version_not_found', `Prompt "${name}" has no version ${version}.`, { name, version });

/**
 * Every prompt name resolved to a version and its text for a run starting now: a number selects that version, a
 * string that label; a name not selected uses the `production` label, or version 1 without one. An unknown name,
 * version or label is a 400 naming the prompt.
 */
export async function resolvePrompts(
  em: EntityManager,
  tenantId: string,
  selection?: PromptSelection,
): Promise<PromptSet> {
  const selected = (selection ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(selected)) {
    if (!isPromptName(key))
      throw badRequest(
        'unknown_prompt',
        `There is no prompt "${key.slice(0, 60)}" (prompts: ${PROMPT_NAMES.join(', ')}).`,
      );
  }
  const labels = await em.find(PromptLabelEntity, { tenantId });
  const labelOf = (name: PromptName, label: string) => labels.find((l) => l.name === name && l.label === label);

  const versions = {} as Record<PromptName, number>;
  for (const name of PROMPT_NAMES) {
    const want = selected[name];
    if (want === undefined || want === null) {
      versions[name] = labelOf(name, PRODUCTION_LABEL)?.version ?? DEFAULT_PROMPT_VERSION;
    } else if (typeof want === 'number') {
      if (!Number.isInteger(want) || want < 1) throw versionNotFound(name, want);
      versions[name] = want;
    } else if (typeof want === 'string') {
      const row = labelOf(name, want);
      if (row) versions[name] = row.version;
      else if (want === PRODUCTION_LABEL) versions[name] = DEFAULT_PROMPT_VERSION;
      else
        throw badRequest('prompt_label_not_found', `Prompt "${name}" has no label "${want.slice(0, 60)}".`, {
          name,
          label: want,
        });
    } else {
      throw badRequest('invalid_prompt_selection', `Prompt "${name}": select a version number or a label name.`);
    }
  }

  const stored = PROMPT_NAMES.filter((n) => versions[n] !== DEFAULT_PROMPT_VERSION);
  const rows = stored.length
    ? await em.find(PromptVersionEntity, {
        tenantId,
        $or: stored.map((name) => ({ name, version: versions[name] })),
      })
    : [];
  const set: PromptSet = {};
  for (const name of PROMPT_NAMES) {
    const version = versions[name];
    if (version === DEFAULT_PROMPT_VERSION) {
      set[name] = { name, version, text: DEFAULT_PROMPTS[name] };
      continue;
    }
    const row = rows.find((r) => r.name === name && r.version === version);
    if (!row) throw versionNotFound(name, version);
    set[name] = { name, version, text: row.text } satisfies ResolvedPrompt;
  }
  return set;
}

type VersionMeta = Pick<PromptVersionRow, 'name' | 'version' | 'note' | 'createdBy' | 'createdAt'>;

function summarize(name: PromptName, versions: VersionMeta[], labels: PromptLabelRow[]): PromptSummary {
  const own = labels.filter((l) => l.name === name).sort((a, b) => a.label.localeCompare(b.label));
  const labelsAt = (version: number) => own.filter((l) => l.version === version).map((l) => l.label);
  const mine = versions.filter((v) => v.name === name).sort((a, b) => a.version - b.version);
  return {
    name,
    purpose: PROMPT_PURPOSES[name],
    production: own.find((l) => l.label === PRODUCTION_LABEL)?.version ?? DEFAULT_PROMPT_VERSION,
    labels: own.map((l) => ({ label: l.label, version: l.version, updatedBy: l.updatedBy, updatedAt: l.updatedAt })),
    versions: [
      {
        version: DEFAULT_PROMPT_VERSION,
        shipped: true,
        note: 'The shipped default',
        createdBy: null,
        createdAt: null,
        labels: labelsAt(DEFAULT_PROMPT_VERSION),
      },
      ...mine.map((v) => ({
        version: v.version,
        shipped: false,
        note: v.note,
        createdBy: v.createdBy,
        createdAt: v.createdAt,
        labels: labelsAt(v.version),
      })),
    ],
  };
}

/** Every prompt name with its versions (without their text) and labels. */
export async function listPrompts(em: EntityManager, tenantId: string): Promise<PromptSummary[]> {
  const [versions, labels] = await Promise.all([
    em.find(
      PromptVersionEntity,
      { tenantId },
      { fields: ['tenantId', 'name', 'version', 'note', 'createdBy', 'createdAt'] },
    ),
    em.find(PromptLabelEntity, { tenantId }),
  ]);
  return PROMPT_NAMES.map((name) => summarize(name, versions, labels));
}

/** One prompt with every version's text. */
export async function getPrompt(em: EntityManager, tenantId: string, rawName: string): Promise<PromptDetail> {
  const name = checkPromptName(rawName);
  const [versions, labels] = await Promise.all([
    em.find(PromptVersionEntity, { tenantId, name }),
    em.find(PromptLabelEntity, { tenantId, name }),
  ]);
  const summary = summarize(name, versions, labels);
  const textOf = (version: number) =>
    version === DEFAULT_PROMPT_VERSION ? DEFAULT_PROMPTS[name] : versions.find((v) => v.version === version)!.text;
  return { ...summary, versions: summary.versions.map((v) => ({ ...v, text: textOf(v.version) })) };
}

async function versionExists(em: EntityManager, tenantId: string, name: PromptName, version: number) {
  if (version === DEFAULT_PROMPT_VERSION) return true;
  return (await em.count(PromptVersionEntity, { tenantId, name, version })) > 0;
}

/** Points `label` at `version` (null: removes it). Returns the version it pointed at before, if any. */
async function writeLabel(
  em: EntityManager,
  p: { tenantId: string; name: PromptName; label: string; version: number | null; actor: string },
): Promise<number | null> {
  const before = await em.findOne(PromptLabelEntity, { tenantId: p.tenantId, name: p.name, label: p.label });
  const previous = before?.version ?? null;
  if (p.version === null) {
    if (before) await em.nativeDelete(PromptLabelEntity, { tenantId: p.tenantId, name: p.name, label: p.label });
    return previous;
  }
  if (!before && (await em.count(PromptLabelEntity, { tenantId: p.tenantId, name: p.name })) >= MAX_PROMPT_LABELS)
    throw limitReached(`Prompt "${p.name}" has ${MAX_PROMPT_LABELS} labels, the most it may have; remove one first.`);
  await em.getConnection().execute(
    `insert into prompt_labels (tenant_id, name, label, version, updated_by, updated_at) values (?, ?, ?, ?, ?, now())
       on conflict (tenant_id, name, label)
       do update set version = excluded.version, updated_by = excluded.updated_by, updated_at = now()`,
    [p.tenantId, p.name, p.label, p.version, p.actor],
    'run',
    em.getTransactionContext(),
  );
  return previous;
}

const limitReached = (message: string) =>
  new AppError({ code: 'prompt_limit_reached', message, status: 409, category: 'conflict' });

/** A new version of a prompt (the next number), with the labels given pointed at it. */
export async function addPromptVersion(
  em: EntityManager,
  p: { tenantId: string; name: string; text: string; note?: string | null; labels?: string[]; actor: string },
): Promise<PromptVersionView & { name: PromptName; text: string }> {
  const name = checkPromptName(p.name);
  const labels = [...new Set(p.labels ?? [])].map(checkLabel);
  // Two concurrent additions may pick the same number: the primary key refuses one, which then takes the next.
  for (let attempt = 0; ; attempt++) {
    try {
      return await em.fork().transactional(async (tx) => {
        const [last] = await tx.find(
          PromptVersionEntity,
          { tenantId: p.tenantId, name },
          { orderBy: { version: 'desc' }, limit: 1, fields: ['tenantId', 'name', 'version'] },
        );
        const version = (last?.version ?? DEFAULT_PROMPT_VERSION) + 1;
        if (version - DEFAULT_PROMPT_VERSION > MAX_PROMPT_VERSIONS)
          throw limitReached(`Prompt "${name}" has ${MAX_PROMPT_VERSIONS} versions of its own, the most it may have.`);
        const createdAt = new Date();
        await tx.insert(PromptVersionEntity, {
          tenantId: p.tenantId,
          name,
          version,
          text: p.text,
          note: p.note ?? null,
          createdBy: p.actor,
          createdAt,
        });
        for (const label of labels)
          await writeLabel(tx, { tenantId: p.tenantId, name, label, version, actor: p.actor });
        return {
          name,
          version,
          shipped: false,
          note: p.note ?? null,
          createdBy: p.actor,
          createdAt,
          labels,
          text: p.text,
        };
      });
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException && attempt < 3) continue;
      throw e;
    }
  }
}

/** Points a label at a version of the prompt (version 1 included), or removes it (`version: null`). */
export async function setPromptLabel(
  em: EntityManager,
  p: { tenantId: string; name: string; label: string; version: number | null; actor: string },
): Promise<{ name: PromptName; label: string; version: number | null; previousVersion: number | null }> {
  const name = checkPromptName(p.name);
  const label = checkLabel(p.label);
  return em.fork().transactional(async (tx) => {
    if (p.version !== null && !(await versionExists(tx, p.tenantId, name, p.version)))
      throw versionNotFound(name, p.version);
    const previousVersion = await writeLabel(tx, {
      tenantId: p.tenantId,
      name,
      label,
      version: p.version,
      actor: p.actor,
    });
    return { name, label, version: p.version, previousVersion };
  });
}
