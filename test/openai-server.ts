/**
 * A scripted OpenAI-compatible HTTP server for tests: no hosted model exists here, so tests point the real `openai`
 * client at `baseURL: server.url + '/v1'` and script what the "model" answers, request by request.
 *
 * - `POST /v1/chat/completions` and `POST /v1/embeddings` (also without the `/v1` prefix) answer from a script queue
 *   per endpoint (`server.chat.enqueue(...)`, `server.embeddings.enqueue(...)`); an empty queue answers by the
 *   `fallback` rule when one is given, else with a deterministic default: chat replies "ok", embeddings are unit
 *   vectors hashed from each input.
 * - Response shapes follow OpenAI's: JSON completions, Server-Sent Events when `stream: true` (with the usage chunk
 *   when `stream_options.include_usage`), embeddings as floats or base64 (the `openai` client asks for base64 unless
 *   told otherwise), and OpenAI's error bodies `{ error: { message, type, param, code } }`.
 * - Every request is recorded (`server.requests`), including whether the client went away before the answer ended.
 *
 * A step is taken from the queue only by a request that passed authentication and validation: a request the server
 * rejects itself (401 for a wrong key, 400 for a missing model) leaves the script as it was.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The JSON body of a request, as received. Fields are unchecked beyond the minimal validation. */
export interface RequestBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: unknown;
  tools?: unknown;
  input?: unknown;
  dimensions?: unknown;
  encoding_format?: unknown;
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  /** The path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The parsed JSON body; `undefined` when the body was empty or not JSON (see `rawBody`). */
  body: RequestBody | undefined;
  rawBody: string;
  /** `Date.now()` when the request arrived. */
  receivedAt: number;
  /** True when the client disconnected before the response was complete (an abort, a client-side timeout). */
  aborted: boolean;
}

export interface ScriptedToolCall {
  /** Defaults to a generated `call_...` id. */
  id?: string;
  name: string;
  /** An object is sent as its JSON text; a string is sent as is (it may be invalid JSON on purpose). */
  arguments: object | string;
}

export interface ReplyStep {
  reply: {
    content?: string;
    toolCalls?: ScriptedToolCall[];
    /** Defaults to 'tool_calls' when there are tool calls, else 'stop'. */
    finishReason?: string;
    /** Defaults to an estimate from the request's messages and the reply (about 4 characters a token). */
    usage?: { prompt_tokens: number; completion_tokens: number };
    /** The model that answers; defaults to the requested one. */
    model?: string;
    /** Streaming only: wait this long between chunks. */
    streamChunkDelayMs?: number;
    /** Streaming only: destroy the connection after this many chunks (a stream that dies mid-way). */
    streamBreakAfterChunks?: number;
  };
}

export interface EmbeddingsStep {
  /** One vector per input, sent as given (floats, or base64 float32 when the request asks for base64). */
  embeddings: number[][];
  model?: string;
}

/**
 * An HTTP error with OpenAI's error body. Defaults follow what OpenAI sends for the status (and code), e.g.
 * `{ status: 429 }` (code 'rate_limit_exceeded'; or code 'insufficient_quota'), `{ status: 500 | 502 | 503 }`,
 * `{ status: 400, code: 'context_length_exceeded' }`, `{ status: 400, code: 'content_filter' }`, `{ status: 401 }`,
 * `{ status: 404, code: 'model_not_found' }`.
 */
export interface FaultStep {
  status: number;
  code?: string;
  message?: string;
  type?: string;
  param?: string;
  /** Seconds, sent as the `retry-after` header. */
  retryAfter?: number;
  /** Milliseconds, sent as the `retry-after-ms` header (the `openai` client prefers it over `retry-after`). */
  retryAfterMs?: number;
  headers?: Record<string, string>;
}

/** Wait before answering with `then` (the default behaviour when omitted). A client that aborts meanwhile is recorded. */
export interface DelayStep {
  delayMs: number;
  then?: Step;
}

/** 200 with a JSON body cut in half (for a streaming request: an SSE event whose data is cut in half). */
export interface MalformedJsonStep {
  malformedJson: true;
}

/** Destroy the connection without any response. */
export interface ResetConnectionStep {
  resetConnection: true;
}

export type StepFn = (request: RecordedRequest) => Step;

export type Step =
  ReplyStep | EmbeddingsStep | FaultStep | DelayStep | MalformedJsonStep | ResetConnectionStep | StepFn;

export interface ScriptQueue {
  /** Append steps; each request to the endpoint takes the next one. */
  enqueue(...steps: Step[]): void;
  /** Steps not taken yet. */
  readonly pending: number;
  clear(): void;
}

export interface OpenAiTestServerOptions {
  /** When set, requests must carry `authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /**
   * What a request to an endpoint whose queue is empty gets, instead of the deterministic default: a step function
   * for a server that answers any number of requests by a rule (a benchmark's model at a fixed latency).
   */
  fallback?: { chat?: StepFn; embeddings?: StepFn };
}

export interface OpenAiTestServer {
  /** `http://127.0.0.1:<port>`; the `openai` client's baseURL is `url + '/v1'`. */
  url: string;
  requests: RecordedRequest[];
  /** Requests to a path, given with or without the `/v1` prefix. */
  requestsTo(path: string): RecordedRequest[];
  chat: ScriptQueue;
  embeddings: ScriptQueue;
  /** Forget the recorded requests and empty both queues. */
  reset(): void;
  /** Stop listening, drop open connections (pending slow steps included). */
  close(): Promise<void>;
}

const CHAT_PATH = '/chat/completions';
const EMBEDDINGS_PATH = '/embeddings';
const DEFAULT_DIMENSIONS = 8;
const SYSTEM_FINGERPRINT = 'fp_testserver';

/** A rough, deterministic token count: about 4 characters a token, at least 1 for non-empty text. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

/** FNV-1a, 32 bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The default embedding of an input: a unit vector seeded by a hash of the text, each component a float32 value
 * (so it survives the base64 float32 encoding unchanged). Token-array inputs are hashed as their JSON text.
 */
export function deterministicEmbedding(input: string, dimensions = DEFAULT_DIMENSIONS): number[] {
  let state = hash32(input) || 1;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const raw = Array.from({ length: dimensions }, () => next() * 2 - 1);
  const norm = Math.sqrt(raw.reduce((s, v) => s + v * v, 0)) || 1;
  return raw.map((v) => Math.fround(v / norm));
}

function messagesText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  return messages
    .map((m: unknown) => {
      if (!m || typeof m !== 'object') return '';
      const content = (m as { content?: unknown }).content;
      if (typeof content === 'string') return content;
      if (Array.isArray(content)) {
        return content
          .map((p: unknown) => (p && typeof p === 'object' ? String((p as { text?: unknown }).text ?? '') : ''))
          .join('');
      }
      return content == null ? '' : JSON.stringify(content);
    })
    .join('\n');
}

/** Prompt tokens of a chat request: the text of the messages plus 3 per message, as OpenAI roughly counts. */
function promptTokens(body: RequestBody): number {
  const count = Array.isArray(body.messages) ? body.messages.length : 0;
  return estimateTokens(messagesText(body.messages)) + 3 * count;
}

/** The inputs of an embeddings request, each as text (token arrays as their JSON), with their token counts. */
function embeddingInputs(input: unknown): Array<{ text: string; tokens: number }> {
  const one = (x: unknown) =>
    typeof x === 'string'
      ? { text: x, tokens: estimateTokens(x) }
      : { text: JSON.stringify(x), tokens: Array.isArray(x) ? x.length : 1 };
  if (typeof input === 'string') return [one(input)];
  if (Array.isArray(input)) {
    if (input.length > 0 && input.every((x) => typeof x === 'number')) return [one(input)];
    return input.map(one);
  }
  return [];
}

function openAiError(message: string, type: string | null, code: string | number | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

/** OpenAI's error body for a fault step, with the defaults OpenAI sends for that status and code. */
function faultBody(step: FaultStep, body: RequestBody | undefined): ReturnType<typeof openAiError> {
  const model = typeof body?.model === 'string' ? body.model : 'gpt-4o-mini';
  const make = (message: string, type: string | null, code: string | number | null, param: string | null = null) =>
    openAiError(step.message ?? message, step.type ?? type, step.code ?? code, step.param ?? param);
  switch (step.status) {
    case 400:
      if (step.code === 'context_length_exceeded') {
        const used = Math.max(128_001, body ? promptTokens(body) : 0);
        return make(
          `This model's maximum context length is 128000 tokens. However, your messages resulted in ${used} tokens. Please reduce the length of the messages.`,
          'invalid_request_error',
          null,
          'messages',
        );
      }
      if (step.code === 'content_filter') {
        return make(
          "The response was filtered due to the prompt triggering OpenAI's content management policy. Please modify your prompt and retry.",
          'invalid_request_error',
          null,
          'prompt',
        );
      }
      return make('Invalid request.', 'invalid_request_error', null);
    case 401:
      return make(
        'Incorrect API key provided: sk-test***. You can find your API key at https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        'invalid_api_key',
      );
    case 403:
      return make('You are not allowed to sample from this model.', 'invalid_request_error', null);
    case 404:
      if (step.code === undefined || step.code === 'model_not_found') {
        return make(
          `The model \`${model}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          'model_not_found',
        );
      }
      return make('Not found.', 'invalid_request_error', null);
    case 429: {
      if (step.code === 'insufficient_quota') {
        return make(
          'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
          'insufficient_quota',
          'insufficient_quota',
        );
      }
      const wait = step.retryAfterMs !== undefined ? `${step.retryAfterMs}ms` : `${step.retryAfter ?? 1}s`;
      return make(
        `Rate limit reached for ${model} in organization org-test on tokens per min (TPM): Limit 30000, Used 30000, Requested 100. Please try again in ${wait}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
        'tokens',
        'rate_limit_exceeded',
      );
    }
    case 500:
      return make('The server had an error while processing your request. Sorry about that!', 'server_error', null);
    case 502:
      return make('Bad gateway.', 'cf_bad_gateway', 502);
    case 503:
      return make('The server is overloaded or not ready yet.', 'server_error', null);
    default:
      return make(`Error ${step.status}.`, step.status >= 500 ? 'server_error' : 'invalid_request_error', null);
  }
}

class Queue implements ScriptQueue {
  private steps: Step[] = [];
  enqueue(...steps: Step[]): void {
    this.steps.push(...steps);
  }
  get pending(): number {
    return this.steps.length;
  }
  clear(): void {
    this.steps = [];
  }
  take(): Step | undefined {
    return this.steps.shift();
  }
}

/** A request the script cannot answer (a step for the other endpoint, a throwing step function): the test is wrong. */
class ScriptError extends Error {}

type Endpoint = 'chat' | 'embeddings';

export async function startOpenAiServer(opts: OpenAiTestServerOptions = {}): Promise<OpenAiTestServer> {
  const requests: RecordedRequest[] = [];
  const chat = new Queue();
  const embeddings = new Queue();
  let counter = 0;
  const nextId = (prefix: string, length: number) => `${prefix}${(++counter).toString(36).padStart(length, '0')}`;
  /** Wake-ups of pending waits, fired on close so nothing outlives the server. */
  const waiters = new Set<() => void>();
  let closed = false;

  /** Resolves true after `ms`, or false as soon as the response closes (the client went away) or the server closes. */
  const wait = (ms: number, res: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      if (res.destroyed || closed) return resolve(false);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        res.off('close', onClose);
        waiters.delete(onClose);
        resolve(ok);
      };
      const onClose = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      res.on('close', onClose);
      waiters.add(onClose);
    });

  const baseHeaders = () => ({
    'x-request-id': nextId('req_', 24),
    'openai-processing-ms': '1',
    'openai-version': '2020-10-01',
  });

  const sendJson = (res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      ...baseHeaders(),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  };

  const sendFault = (res: ServerResponse, step: FaultStep, body: RequestBody | undefined) => {
    const headers: Record<string, string> = {};
    if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
    if (step.retryAfterMs !== undefined) headers['retry-after-ms'] = String(step.retryAfterMs);
    sendJson(res, step.status, faultBody(step, body), { ...headers, ...step.headers });
  };

  const chatCompletion = (step: ReplyStep, body: RequestBody) => {
    const r = step.reply;
    const toolCalls = (r.toolCalls ?? []).map((t) => ({
      id: t.id ?? nextId('call_', 24),
      type: 'function' as const,
      function: {
        name: t.name,
        arguments: typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments),
      },
    }));
    const content = r.content ?? (toolCalls.length > 0 ? null : '');
    const usage = r.usage ?? {
      prompt_tokens: promptTokens(body),
      completion_tokens: Math.max(
        1,
        estimateTokens(content ?? '') +
          toolCalls.reduce((s, t) => s + estimateTokens(t.function.name + t.function.arguments), 0),
      ),
    };
    return {
      id: nextId('chatcmpl-', 29),
      created: Math.floor(Date.now() / 1000),
      model: r.model ?? String(body.model),
      content,
      toolCalls,
      finishReason: r.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      usage: {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
    };
  };

  const chatJson = (c: ReturnType<typeof chatCompletion>) => ({
    id: c.id,
    object: 'chat.completion',
    created: c.created,
    model: c.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: c.content,
          refusal: null,
          annotations: [],
          ...(c.toolCalls.length > 0 ? { tool_calls: c.toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: c.finishReason,
      },
    ],
    usage: c.usage,
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  });

  /** The SSE chunks OpenAI sends for a completion, in order (without the final `[DONE]`). */
  const chatChunks = (c: ReturnType<typeof chatCompletion>, includeUsage: boolean): object[] => {
    const chunk = (choices: object[], extra: object = {}) => ({
      id: c.id,
      object: 'chat.completion.chunk',
      created: c.created,
      model: c.model,
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
    const delta = (d: object, finishReason: string | null = null) => ({
      index: 0,
      delta: d,
      logprobs: null,
      finish_reason: finishReason,
    });
    const chunks: object[] = [];
    chunks.push(chunk([delta({ role: 'assistant', content: c.content === null ? null : '', refusal: null })]));
    // Token-like pieces: leading whitespace plus up to 4 other characters; they concatenate to the content exactly.
    for (const piece of c.content?.match(/\s*\S{1,4}|\s+/g) ?? []) chunks.push(chunk([delta({ content: piece })]));
    c.toolCalls.forEach((t, index) => {
      chunks.push(
        chunk([
          delta({
            tool_calls: [{ index, id: t.id, type: 'function', function: { name: t.function.name, arguments: '' } }],
          }),
        ]),
      );
      for (const piece of t.function.arguments.match(/[\s\S]{1,8}/g) ?? []) {
        chunks.push(chunk([delta({ tool_calls: [{ index, function: { arguments: piece } }] })]));
      }
    });
    chunks.push(chunk([delta({}, c.finishReason)]));
    if (includeUsage) chunks.push(chunk([], { usage: c.usage }));
    return chunks;
  };

  const embeddingsJson = (body: RequestBody, vectors: number[][], model: string | undefined) => {
    const tokens = embeddingInputs(body.input).reduce((s, i) => s + i.tokens, 0);
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      data: vectors.map((v, index) => ({
        object: 'embedding',
        index,
        embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
      })),
      model: model ?? String(body.model),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  };

  const defaultEmbeddings = (body: RequestBody): EmbeddingsStep => {
    const d = body.dimensions;
    const dimensions = typeof d === 'number' && Number.isInteger(d) && d > 0 ? d : DEFAULT_DIMENSIONS;
    return { embeddings: embeddingInputs(body.input).map((i) => deterministicEmbedding(i.text, dimensions)) };
  };

  const defaultStep = (endpoint: Endpoint, body: RequestBody): Step =>
    endpoint === 'chat' ? { reply: { content: 'ok' } } : defaultEmbeddings(body);

  /** The 200 body of a non-fault step, as JSON (used by `malformedJson` too). */
  const successJson = (endpoint: Endpoint, step: ReplyStep | EmbeddingsStep, body: RequestBody): object => {
    if (endpoint === 'chat') {
      if (!('reply' in step)) throw new ScriptError('an `embeddings` step cannot answer /v1/chat/completions');
      return chatJson(chatCompletion(step, body));
    }
    if (!('embeddings' in step)) throw new ScriptError('a `reply` step cannot answer /v1/embeddings');
    return embeddingsJson(body, step.embeddings, step.model);
  };

  const isStreaming = (endpoint: Endpoint, body: RequestBody) => endpoint === 'chat' && body.stream === true;
  const includeUsage = (body: RequestBody) =>
    typeof body.stream_options === 'object' &&
    body.stream_options !== null &&
    (body.stream_options as { include_usage?: unknown }).include_usage === true;

  const stream = async (res: ServerResponse, step: ReplyStep, body: RequestBody, markReset: () => void) => {
    const chunks = chatChunks(chatCompletion(step, body), includeUsage(body));
    res.writeHead(200, {
      ...baseHeaders(),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    const delayMs = step.reply.streamChunkDelayMs ?? 0;
    const breakAfter = step.reply.streamBreakAfterChunks;
    for (const [i, c] of chunks.entries()) {
      if (breakAfter !== undefined && i >= breakAfter) {
        markReset();
        res.destroy();
        return;
      }
      if (i > 0 && delayMs > 0 && !(await wait(delayMs, res))) return;
      if (res.destroyed) return;
      // Wait until each chunk is handed to the socket, so that a break mid-way loses nothing already "sent".
      await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(c)}\n\n`, () => resolve()));
    }
    res.end('data: [DONE]\n\n');
  };

  /** Answer with a step, following delays and step functions. */
  const answer = async (
    endpoint: Endpoint,
    step: Step,
    record: RecordedRequest,
    body: RequestBody,
    res: ServerResponse,
    markReset: () => void,
  ): Promise<void> => {
    if (typeof step === 'function') {
      let next: Step;
      try {
        next = step(record);
      } catch (e) {
        throw new ScriptError(`the step function threw: ${e instanceof Error ? e.message : String(e)}`);
      }
      return answer(endpoint, next, record, body, res, markReset);
    }
    if ('delayMs' in step) {
      if (!(await wait(step.delayMs, res))) return; // the client went away (recorded by the close listener)
      return answer(endpoint, step.then ?? defaultStep(endpoint, body), record, body, res, markReset);
    }
    if (res.destroyed) return;
    if ('resetConnection' in step) {
      markReset();
      res.socket?.destroy();
      return;
    }
    if ('status' in step) return sendFault(res, step, body);
    if ('malformedJson' in step) {
      let truncated: string;
      if (isStreaming(endpoint, body)) {
        const first = JSON.stringify(chatChunks(chatCompletion({ reply: { content: 'ok' } }, body), false)[0]);
        truncated = `data: ${first}\n\ndata: ${first.slice(0, Math.floor(first.length / 2))}\n\ndata: [DONE]\n\n`;
      } else {
        const text = JSON.stringify(
          successJson(endpoint, defaultStep(endpoint, body) as ReplyStep | EmbeddingsStep, body),
        );
        truncated = text.slice(0, Math.floor(text.length / 2));
      }
      res.writeHead(200, {
        ...baseHeaders(),
        'content-type': isStreaming(endpoint, body) ? 'text/event-stream; charset=utf-8' : 'application/json',
        'content-length': String(Buffer.byteLength(truncated)),
      });
      res.end(truncated);
      return;
    }
    if (isStreaming(endpoint, body)) {
      if (!('reply' in step)) throw new ScriptError('an `embeddings` step cannot answer /v1/chat/completions');
      return stream(res, step, body, markReset);
    }
    sendJson(res, 200, successJson(endpoint, step, body));
  };

  /** Authentication and minimal validation; an error body when the request is refused. */
  const refuse = (endpoint: Endpoint, record: RecordedRequest): { status: number; body: object } | undefined => {
    if (opts.apiKey !== undefined && record.headers['authorization'] !== `Bearer ${opts.apiKey}`) {
      const given = (record.headers['authorization'] ?? '').replace(/^Bearer\s+/i, '');
      return {
        status: 401,
        body: given
          ? openAiError(
              `Incorrect API key provided: ${given.slice(0, 3)}***${given.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
              'invalid_request_error',
              'invalid_api_key',
            )
          : openAiError(
              "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
              'invalid_request_error',
              null,
            ),
      };
    }
    const body = record.body;
    if (body === undefined) {
      return {
        status: 400,
        body: openAiError(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
          'invalid_request_error',
          null,
        ),
      };
    }
    const missing = (param: string) => ({
      status: 400,
      body: openAiError(
        `Missing required parameter: '${param}'.`,
        'invalid_request_error',
        'missing_required_parameter',
        param,
      ),
    });
    if (typeof body.model !== 'string' || body.model === '') {
      return {
        status: 400,
        body: openAiError('you must provide a model parameter', 'invalid_request_error', null),
      };
    }
    if (endpoint === 'chat') {
      if (body.messages === undefined) return missing('messages');
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        return {
          status: 400,
          body: openAiError(
            "Invalid 'messages': expected a non-empty array.",
            'invalid_request_error',
            Array.isArray(body.messages) ? 'empty_array' : 'invalid_type',
            'messages',
          ),
        };
      }
    } else {
      if (body.input === undefined) return missing('input');
      if (embeddingInputs(body.input).length === 0) {
        return {
          status: 400,
          body: openAiError(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            'invalid_request_error',
            null,
            'input',
          ),
        };
      }
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      headers,
      body: undefined,
      rawBody: '',
      receivedAt: Date.now(),
      aborted: false,
    };
    requests.push(record);
    let resetByServer = false;
    const markReset = () => {
      resetByServer = true;
    };
    res.on('close', () => {
      if (!res.writableFinished && !resetByServer && !closed) record.aborted = true;
    });

    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    record.rawBody = Buffer.concat(parts).toString('utf8');
    if (record.rawBody !== '') {
      try {
        const parsed: unknown = JSON.parse(record.rawBody);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) record.body = parsed as RequestBody;
      } catch {
        // left undefined: refused below
      }
    }

    const route = record.path.replace(/^\/v1(?=\/)/, '');
    const endpoint: Endpoint | undefined =
      route === CHAT_PATH ? 'chat' : route === EMBEDDINGS_PATH ? 'embeddings' : undefined;
    if (endpoint === undefined || record.method !== 'POST') {
      sendJson(res, 404, openAiError(`Invalid URL (${record.method} ${record.path})`, 'invalid_request_error', null));
      return;
    }
    const refusal = refuse(endpoint, record);
    if (refusal) {
      sendJson(res, refusal.status, refusal.body);
      return;
    }
    const body = record.body as RequestBody;
    const step =
      (endpoint === 'chat' ? chat : embeddings).take() ?? opts.fallback?.[endpoint] ?? defaultStep(endpoint, body);
    try {
      await answer(endpoint, step, record, body, res, markReset);
    } catch (e) {
      const message = `openai-test-server: ${e instanceof Error ? e.message : String(e)}`;
      if (!(e instanceof ScriptError)) console.error(message, e);
      if (!res.headersSent) {
        sendJson(res, 500, openAiError(message, 'server_error', null), { 'x-should-retry': 'false' });
      } else {
        res.destroy();
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // Reading the body of a request the client abandoned, and the like: nothing to answer.
      if (!res.destroyed) res.destroy(e instanceof Error ? e : undefined);
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path: string) => {
      const route = path.replace(/^\/v1(?=\/)/, '');
      return requests.filter((r) => r.path.replace(/^\/v1(?=\/)/, '') === route);
    },
    chat,
    embeddings,
    reset: () => {
      requests.length = 0;
      chat.clear();
      embeddings.clear();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const wake of [...waiters]) wake();
      const done = new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
      server.closeAllConnections();
      await done;
    },
  };
}
