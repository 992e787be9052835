/**
 * The prompts API the console uses: the tenant's versioned prompts with their labels. Shapes mirror
 * lib/prompts/store.ts (PromptSummary).
 */
import type { PromptName } from '../../../lib/contracts/evals';
import { request } from './request';

export interface PromptVersionView {
  version: number;
  /** Version 1: the text BeyondCloud ships. */
  shipped: boolean;
  note: string | null;
  createdBy: string | null;
  createdAt: string | null;
  labels: string[];
}

export interface PromptSummary {
  name: PromptName;
  purpose: string;
  /** The version new runs use: the `production` label's, else 1. */
  production: number;
  labels: Array<{ label: string; version: number; updatedBy: string | null; updatedAt: string | null }>;
  versions: PromptVersionView[];
}

export const listPrompts = (signal?: AbortSignal) => request<{ prompts: PromptSummary[] }>('/v1/prompts', { signal });

export interface PromptDetail extends Omit<PromptSummary, 'versions'> {
  versions: Array<PromptVersionView & { text: string }>;
}

const promptPath = (name: string) => `/v1/prompts/${encodeURIComponent(name)}`;

export const getPrompt = (name: string, signal?: AbortSignal) => request<PromptDetail>(promptPath(name), { signal });

export const addPromptVersion = (name: string, body: { text: string; note?: string; labels?: string[] }) =>
  request<{ name: PromptName; version: number; labels: string[] }>(`${promptPath(name)}/versions`, {
    method: 'POST',
    body,
  });

/** Points `label` at `version`; null removes it (`production`: admins only). */
export const setPromptLabel = (name: string, body: { label: string; version: number | null }) =>
  request<{ name: PromptName; label: string; version: number | null; previousVersion: number | null }>(
    `${promptPath(name)}/labels`,
    { method: 'PUT', body },
  );
