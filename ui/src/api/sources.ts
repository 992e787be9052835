/**
 * The sources API the collection page uses: URL lists, sitemaps and (admins') folders attached to a collection,
 * each synced on demand or by a schedule. Shapes mirror the API's SourceView.
 */
import { request } from './request';

export type SourceKind = 'urls' | 'sitemap' | 'folder';

export type SourceConfig = { urls: string[] } | { url: string } | { path: string };

export interface SyncFailure {
  location: string;
  reason: string;
}

export interface SourceSync {
  workflowId: string;
  status: 'running' | 'completed' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  added: number;
  changed: number;
  unchanged: number;
  removed: number;
  failed: number;
  failures: SyncFailure[];
}

export interface SourceView {
  id: string;
  collectionId: string;
  kind: SourceKind;
  name: string;
  config: SourceConfig;
  createdAt: string;
  createdBy: string;
  /** Documents of the collection that came from this source. */
  documents: number;
  lastSync: SourceSync | null;
}

export type NewSource =
  | { kind: 'urls'; name?: string; urls: string[] }
  | { kind: 'sitemap'; name?: string; url: string }
  | { kind: 'folder'; name?: string; path: string };

export interface SourceChanges {
  name?: string;
  urls?: string[];
  url?: string;
  path?: string;
}

const sourcesPath = (collectionId: string) => `/v1/collections/${encodeURIComponent(collectionId)}/sources`;
const sourcePath = (collectionId: string, sourceId: string) =>
  `${sourcesPath(collectionId)}/${encodeURIComponent(sourceId)}`;

export const listSources = (collectionId: string, signal?: AbortSignal) =>
  request<{ sources: SourceView[] }>(sourcesPath(collectionId), { signal });

export const getSource = (collectionId: string, sourceId: string, signal?: AbortSignal) =>
  request<SourceView>(sourcePath(collectionId, sourceId), { signal });

export const createSource = (collectionId: string, body: NewSource) =>
  request<SourceView>(sourcesPath(collectionId), { method: 'POST', body });

export const updateSource = (collectionId: string, sourceId: string, body: SourceChanges) =>
  request<SourceView>(sourcePath(collectionId, sourceId), { method: 'PATCH', body });

export const deleteSource = (collectionId: string, sourceId: string) =>
  request<void>(sourcePath(collectionId, sourceId), { method: 'DELETE' });

export const syncSource = (collectionId: string, sourceId: string) =>
  request<{ workflowId: string }>(`${sourcePath(collectionId, sourceId)}/sync`, { method: 'POST', body: {} });
