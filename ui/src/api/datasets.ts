/**
 * The datasets API the console uses: the tenant's eval datasets (versioned lists of questions with gold sources and
 * expected facts), their items, and datasets built from past answers. Shapes mirror api/evals/datasets-service.ts.
 */
import type { DatasetItem } from '../../../lib/contracts/evals';
import { request } from './request';

export type { DatasetItem } from '../../../lib/contracts/evals';

export interface DatasetView {
  id: string;
  name: string;
  description: string;
  latestVersion: number;
  itemCount: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface DatasetVersionView {
  version: number;
  itemCount: number;
  note: string;
  createdBy: string;
  createdAt: string;
}

export interface DatasetDetail extends DatasetView {
  /** Newest first. */
  versions: DatasetVersionView[];
}

/** What a write answers: the dataset, and the version it made. */
export type DatasetWritten = DatasetDetail & { version: number };

const datasetPath = (id: string) => `/v1/datasets/${encodeURIComponent(id)}`;

export const listDatasets = (signal?: AbortSignal) => request<{ datasets: DatasetView[] }>('/v1/datasets', { signal });

export const getDataset = (id: string, signal?: AbortSignal) => request<DatasetDetail>(datasetPath(id), { signal });

export const listDatasetItems = (
  id: string,
  query: { version?: number; offset?: number; limit?: number } = {},
  signal?: AbortSignal,
) =>
  request<{ version: number; offset: number; limit: number; items: DatasetItem[] }>(`${datasetPath(id)}/items`, {
    query,
    signal,
  });

export const createDataset = (body: { name: string; description?: string; items: Partial<DatasetItem>[] }) =>
  request<DatasetWritten>('/v1/datasets', { method: 'POST', body });

/** A new dataset (`name`) or the next version of one (`datasetId`) from past answers. */
export const datasetFromAnswers = (
  body: { answerIds: string[]; note?: string } & ({ name: string; description?: string } | { datasetId: string }),
) => request<DatasetWritten>('/v1/datasets/from-answers', { method: 'POST', body });

export const importDataset = (
  id: string,
  body: { format: 'jsonl' | 'csv'; content: string; mode?: 'replace' | 'append'; note?: string },
) => request<DatasetWritten>(`${datasetPath(id)}/import`, { method: 'POST', body });

/** The export link (a GET the browser downloads with the session cookie). */
export const datasetExportUrl = (id: string, format: 'jsonl' | 'csv', version?: number) =>
  `${datasetPath(id)}/export?format=${format}${version ? `&version=${version}` : ''}`;
