import { EntitySchema, type Opt } from '@mikro-orm/core';

/**
 * A tenant's own version of a prompt (lib/prompts). Version 1 of every name is the shipped text and is not stored:
 * stored versions start at 2, and are never changed or deleted (runs name them).
 */
export interface PromptVersionRow {
  tenantId: string;
  name: string;
  version: number;
  text: string;
  note: string | null;
  /** Who added it, as the audit log names actors. */
  createdBy: string;
  createdAt: Opt<Date>;
}

export const PromptVersionEntity = new EntitySchema<PromptVersionRow>({
  name: 'PromptVersion',
  tableName: 'prompt_versions',
  properties: {
    tenantId: { type: 'uuid', primary: true },
    name: { type: 'text', primary: true },
    version: { type: 'integer', primary: true },
    text: { type: 'text' },
    note: { type: 'text', nullable: true },
    createdBy: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

/** A label (`production`, `candidate`, ...) pointing at a version of one prompt; no `production` row: version 1. */
export interface PromptLabelRow {
  tenantId: string;
  name: string;
  label: string;
  version: number;
  updatedBy: string;
  updatedAt: Opt<Date>;
}

export const PromptLabelEntity = new EntitySchema<PromptLabelRow>({
  name: 'PromptLabel',
  tableName: 'prompt_labels',
  properties: {
    tenantId: { type: 'uuid', primary: true },
    name: { type: 'text', primary: true },
    label: { type: 'text', primary: true },
    version: { type: 'integer' },
    updatedBy: { type: 'text' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export const promptEntities = [PromptVersionEntity, PromptLabelEntity];
