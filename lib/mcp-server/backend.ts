import type { AnswerResult, IngestProgress, SearchHit } from '../contracts';
import { MCP_TOOL_HEADER } from '../contracts/audit';
import { AppError } from '../errors';

/**
 * What the MCP server needs from BeyondCloud. The one implementation calls the HTTP API with the caller's key, so
 * auth, roles and tenant scoping are exactly the API's, whether the server runs over stdio or behind `/mcp`.
 */
export interface BeyondCloudBackend {
  listCollections(signal?: AbortSignal): Promise<CollectionSummary[]>;
  search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResponse>;
  /** Starts an answer and waits up to `waitMs` for it; a still-running answer comes back with status `running`. */
  answer(request: AnswerRequest, waitMs: number, signal?: AbortSignal): Promise<AnswerResponse>;
  ingestUrls(collectionId: string, urls: string[], signal?: AbortSignal): Promise<IngestStarted>;
  getRun(workflowId: string, signal?: AbortSignal): Promise<RunDetails>;
  getIngest(workflowId: string, signal?: AbortSignal): Promise<IngestStatus>;
}

export interface CollectionSummary {
  id: string;
  name: string;
  description: string | null;
  documentCount: number;
  chunkCount: number;
}

export interface SearchRequest {
  query: string;
  collectionIds: string[];
  topK: number;
  mode: 'hybrid' | 'vector' | 'text';
}

export interface SearchResponse {
  workflowId: string;
  results: SearchHit[];
}

/** The API's answer options (POST /v1/answers), all optional. */
export interface AnswerRequestOptions {
  topK?: number;
  groundingThreshold?: number;
  maxContextTokens?: number;
  groundingMethod?: 'auto' | 'llm' | 'deterministic';
  rerank?: boolean;
  model?: string;
}

export interface AnswerRequest {
  question: string;
  collectionIds: string[];
  options?: AnswerRequestOptions;
}

export interface AnswerResponse {
  id: string;
  workflowId: string;
  status: 'running' | 'pending_review' | 'answered' | 'abstained' | 'failed';
  answer: string | null;
  groundingScore: number | null;
  result?: AnswerResult;
}

export interface IngestStarted {
  workflowId: string;
  documents: Array<{ id: string; source: string; status: string }>;
}

export interface RunDetails {
  workflowId: string;
  runId: string;
  type: string;
  kind: string | null;
  status: string;
  startTime: string;
  closeTime: string | null;
  durationMs: number | null;
  pendingActivities?: Array<{ activityType?: string; state: string; attempt?: number; lastFailure?: string }>;
  result?: unknown;
  failure?: { message: string; type?: string };
}

export interface IngestStatus {
  workflowId: string;
  status: string;
  progress: IngestProgress | null;
}

export interface HttpBackendOptions {
  /** The API's base URL, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  apiKey: string;
  /** Extra headers on every request (the `/mcp` endpoint passes its trace context so the calls join its trace). */
  headers?: Record<string, string>;
  /** Per request; `answer` adds its wait to it. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The BeyondCloud HTTP API as a backend; an API error becomes an AppError carrying the API's code and message. Each
 * operation serves one tool, whose name it sends in `x-bc-mcp-tool` so the audit log marks the call as made through
 * MCP; `listCollections` is a lookup several tools share and sends none.
 */
export class HttpBackend implements BeyondCloudBackend {
  private readonly baseUrl: string;

  constructor(private readonly opts: HttpBackendOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  async listCollections(signal?: AbortSignal) {
    const body = await this.request<{ collections: CollectionSummary[] }>('GET', '/v1/collections', { signal });
    return body.collections;
  }

  search(request: SearchRequest, signal?: AbortSignal) {
    return this.request<SearchResponse>('POST', '/v1/search', { body: request, signal, tool: 'search_knowledge' });
  }

  answer(request: AnswerRequest, waitMs: number, signal?: AbortSignal) {
    const query = `?wait=true&timeoutMs=${Math.max(1, Math.round(waitMs))}`;
    const body = { question: request.question, collectionIds: request.collectionIds, ...request.options };
    return this.request<AnswerResponse>('POST', `/v1/answers${query}`, {
      body,
      signal,
      extraTimeoutMs: waitMs,
      tool: 'ask',
    });
  }

  ingestUrls(collectionId: string, urls: string[], signal?: AbortSignal) {
    return this.request<IngestStarted>('POST', `/v1/collections/${encodeURIComponent(collectionId)}/urls`, {
      body: { urls },
      signal,
      tool: 'ingest_url',
    });
  }

  getRun(workflowId: string, signal?: AbortSignal) {
    return this.request<RunDetails>('GET', `/v1/runs/${encodeURIComponent(workflowId)}`, {
      signal,
      tool: 'run_status',
    });
  }

  getIngest(workflowId: string, signal?: AbortSignal) {
    return this.request<IngestStatus>('GET', `/v1/ingests/${encodeURIComponent(workflowId)}`, {
      signal,
      tool: 'run_status',
    });
  }

  private async request<T>(
    method: string,
    path: string,
    o: { body?: unknown; signal?: AbortSignal; extraTimeoutMs?: number; tool?: string } = {},
  ): Promise<T> {
    const timeout = AbortSignal.timeout((this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) + (o.extraTimeoutMs ?? 0));
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          ...this.opts.headers,
          authorization: `Bearer ${this.opts.apiKey}`,
          accept: 'application/json',
          ...(o.tool ? { [MCP_TOOL_HEADER]: o.tool } : {}),
          ...(o.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
      });
    } catch (e) {
      const reason = timeout.aborted
        ? 'the request timed out'
        : o.signal?.aborted
          ? 'the request was cancelled'
          : (e as Error).message;
      throw new AppError({
        code: 'api_unreachable',
        message: `The BeyondCloud API at ${this.baseUrl} did not answer ${method} ${path}: ${reason}.`,
        status: 502,
        category: 'dependency',
        cause: e,
      });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new AppError({
        code: err?.code ?? `http_${res.status}`,
        message: err?.message ?? `The BeyondCloud API answered ${method} ${path} with HTTP ${res.status}.`,
        status: res.status,
        category:
          res.status === 401 || res.status === 403
            ? 'auth'
            : res.status === 404
              ? 'not_found'
              : res.status < 500
                ? 'user'
                : 'dependency',
        details: err?.details,
      });
    }
    if (json === undefined) {
      throw new AppError({
        code: 'api_bad_response',
        message: `The BeyondCloud API answered ${method} ${path} without a JSON body.`,
        status: 502,
        category: 'dependency',
      });
    }
    return json as T;
  }
}
