/**
 * The knowledge API the console's Knowledge pages use: collections, their documents (uploads with byte progress,
 * URLs), a document's chunks and the answers that cited it, re-ingests and ingest runs' progress. Shapes mirror
 * api/collections/service.ts.
 */
import type { IngestRunState } from '../lib/knowledge';
import { ApiError, CSRF_COOKIE, readCookie, request } from './request';

export interface Collection {
  id: string;
  name: string;
  description: string | null;
  embeddingModel: string;
  embeddingDim: number;
  embeddingType: 'vector' | 'halfvec';
  chunkSize: number;
  chunkOverlap: number;
  combineSections: boolean;
  documentCount: number;
  chunkCount: number;
  createdAt: string;
}

/** What `POST /v1/collections` takes; the API fills in what is left out. */
export interface NewCollection {
  name: string;
  description?: string;
  embeddingModel?: string;
  chunkSize?: number;
  chunkOverlap?: number;
  combineSections?: boolean;
}

export type DocumentStatus = 'pending' | 'processing' | 'ready' | 'failed' | 'skipped';

export interface KnowledgeDocument {
  id: string;
  collectionId: string;
  sourceKind: 'upload' | 'url' | 'folder';
  source: string;
  title: string | null;
  mimeType: string | null;
  sizeBytes: number | null;
  status: DocumentStatus;
  error: string | null;
  chunkCount: number;
  contentHash: string | null;
  indexedAt: string | null;
  lastIngestWorkflowId: string | null;
  createdAt: string;
  updatedAt: string;
}

export type DocumentDetail = KnowledgeDocument & { name: string; collectionName: string };

export interface Chunk {
  id: string;
  ordinal: number;
  headingPath: string[];
  page: number | null;
  tokens: number;
  text: string;
}

export interface ChunkPage {
  chunks: Chunk[];
  total: number;
  offset: number;
  limit: number;
}

export interface CitingAnswer {
  id: string;
  question: string;
  status: string;
  groundingScore: number | null;
  createdAt: string;
  citations: Array<{ n: number; chunkId: string; page: number | null; headingPath: string[] }>;
}

export interface IngestStarted {
  workflowId: string;
  documents: KnowledgeDocument[];
}

/** Files or URLs sent within an upload: kept for its one run, started by `startUpload`. */
export interface UploadPart {
  workflowId: null;
  upload: string;
  documents: KnowledgeDocument[];
}

const collectionPath = (id: string) => `/v1/collections/${encodeURIComponent(id)}`;
const documentPath = (id: string) => `/v1/documents/${encodeURIComponent(id)}`;

export const listCollections = (signal?: AbortSignal) =>
  request<{ collections: Collection[] }>('/v1/collections', { signal });

export const getCollection = (id: string, signal?: AbortSignal) => request<Collection>(collectionPath(id), { signal });

export const createCollection = (body: NewCollection) =>
  request<Collection>('/v1/collections', { method: 'POST', body });

export const deleteCollection = (id: string) => request<void>(collectionPath(id), { method: 'DELETE' });

export const listDocuments = (collectionId: string, signal?: AbortSignal) =>
  request<{ documents: KnowledgeDocument[] }>(`${collectionPath(collectionId)}/documents`, { signal });

export const addUrls = (collectionId: string, urls: string[]) =>
  request<IngestStarted>(`${collectionPath(collectionId)}/urls`, { method: 'POST', body: { urls } });

export const reingestCollection = (collectionId: string) =>
  request<{ workflowId: string; documents: number }>(`${collectionPath(collectionId)}/reingest`, {
    method: 'POST',
    body: {},
  });

export const getDocument = (id: string, signal?: AbortSignal) =>
  request<{ document: DocumentDetail }>(documentPath(id), { signal });

export const getChunks = (id: string, page: { offset: number; limit: number }, signal?: AbortSignal) =>
  request<ChunkPage>(`${documentPath(id)}/chunks`, { query: page, signal });

export const getCitingAnswers = (id: string, signal?: AbortSignal) =>
  request<{ answers: CitingAnswer[] }>(`${documentPath(id)}/answers`, { signal });

export const reingestDocument = (id: string) =>
  request<{ workflowId: string; documentId: string; started: boolean }>(`${documentPath(id)}/reingest`, {
    method: 'POST',
    body: {},
  });

export const deleteDocument = (id: string) => request<void>(documentPath(id), { method: 'DELETE' });

/** The one ingest run of an upload's files (asked again, the same run). */
export const startUpload = (collectionId: string, upload: string) =>
  request<{ workflowId: string; upload: string; documents: number }>(
    `${collectionPath(collectionId)}/uploads/${encodeURIComponent(upload)}/ingest`,
    { method: 'POST', body: {} },
  );

export const getIngest = (workflowId: string, signal?: AbortSignal) =>
  request<IngestRunState>(`/v1/ingests/${encodeURIComponent(workflowId)}`, { signal });

/**
 * Uploads files of an upload in one multipart request with XMLHttpRequest, whose upload events report bytes sent
 * (fetch has no upload progress); they wait for the upload's run (`startUpload`). The request helper's auth, by hand: the session's key as a bearer, or else the session cookie
 * with the CSRF token echoed. Failures become ApiError as `request` makes them.
 */
export function uploadFiles(
  collectionId: string,
  files: Array<{ file: File; name: string }>,
  opts: {
    upload: string;
    apiKey: string | null;
    onProgress: (loaded: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<UploadPart> {
  const form = new FormData();
  for (const f of files) form.append('file', f.file, f.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${collectionPath(collectionId)}/documents?upload=${encodeURIComponent(opts.upload)}`);
    xhr.setRequestHeader('accept', 'application/json');
    if (opts.apiKey) xhr.setRequestHeader('authorization', `Bearer ${opts.apiKey}`);
    else {
      const csrf = readCookie(CSRF_COOKIE);
      if (csrf) xhr.setRequestHeader('x-csrf-token', csrf);
    }
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) opts.onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      let payload: unknown;
      try {
        payload = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        payload = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300 && payload) return resolve(payload as UploadPart);
      const error = (payload as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      reject(
        new ApiError(
          xhr.status,
          error?.code ?? `http_${xhr.status}`,
          error?.message ?? `The server answered ${xhr.status}.`,
          error?.details,
        ),
      );
    };
    xhr.onerror = () =>
      reject(new ApiError(0, 'network_error', 'The upload did not reach the BeyondCloud API. Check your connection.'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'The upload was canceled.'));
    opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

/** An answer citing the collection that a re-check after a sync found stale or no longer supported. */
export interface StaleAnswer {
  id: string;
  question: string;
  freshness: 'stale' | 'unsupported_now';
  checkedAt: string;
  changedCitations: number[];
  removedDocuments: string[];
  score: number | null;
  createdAt: string;
}

export const getStaleAnswers = (collectionId: string, signal?: AbortSignal) =>
  request<{ answers: StaleAnswer[] }>(`${collectionPath(collectionId)}/stale-answers`, { signal });
