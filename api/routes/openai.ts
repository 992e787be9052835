import { Router } from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../../lib/errors';
import { requireRole, type AuthState } from '../auth/middleware';
import type { AppDeps } from '../deps';
import { openaiError } from '../errors';
import { OpenAiService, type ChatOutcome, type StartedChat } from '../openai/service';
import { chatCompletionBody, embeddingsBody } from '../openai/spec';
import { clientGone } from '../sse';

/** How long a completion waits for its run before answering 504 (the run goes on; its id is in the error). */
const CHAT_WAIT_MS = 10 * 60_000;
/** A stream sends an SSE comment this often while the run works, so proxies and clients keep the connection. */
const KEEP_ALIVE_MS = 10_000;

/** The content in pieces of a few words, as a model streams it (whitespace kept, so they join to the same text). */
export function contentPieces(content: string, words = 4): string[] {
  const tokens = content.match(/\S+\s*|\s+/g) ?? [];
  const pieces: string[] = [];
  for (let i = 0; i < tokens.length; i += words) pieces.push(tokens.slice(i, i + words).join(''));
  return pieces;
}

/**
 * BeyondCloud as an OpenAI-compatible model (issue 20), for the `openai` SDKs and chat front ends (Open WebUI,
 * LibreChat, IDE plugins): `baseURL` is `<api>/v1/openai`. The same keys, roles, quotas and audit as the rest of the
 * API; every error in OpenAI's shape (api/errors.ts). A chat completion is an `answer` run whose id is the
 * completion's; the client leaving before it is done cancels the run.
 */
export function openaiRoutes(deps: AppDeps) {
  const openai = new OpenAiService(deps);
  const router = new Router<AuthState>({ prefix: '/v1/openai', sensitive: true });
  /** A completion or an embedding spends the tenant's model budget: never a viewer (like `POST /v1/answers`). */
  const operate = requireRole('admin', 'operator');

  router.get('/models', async (ctx) => {
    ctx.body = { object: 'list', data: await openai.models(ctx.state.principal.tenantId) };
  });

  /** One model (its id URL-encoded, as the SDKs send it: `rag%2Fdocs`). */
  router.get('/models/:model', async (ctx) => {
    const { tenantId } = ctx.state.principal;
    const id = ctx.params.model!;
    const found = (await openai.models(tenantId)).find((m) => m.id === id);
    // Not listed but resolvable (`rag/<id>` of a uniquely named collection): the same model under another name.
    ctx.body = found ?? {
      id: (await openai.resolve(tenantId, id)).id,
      object: 'model',
      created: 0,
      owned_by: 'beyondcloud',
    };
  });

  router.post('/chat/completions', operate, async (ctx) => {
    const body = chatCompletionBody.parse(ctx.request.body ?? {});
    const { tenantId } = ctx.state.principal;
    const gone = clientGone(ctx);
    const chat = await openai.startChat(tenantId, body);
    ctx.state.workflowId = chat.workflowId;
    ctx.state.audit = {
      action: 'openai.chat',
      targets: { answerId: chat.id, workflowId: chat.workflowId },
      detail: { model: chat.model, stream: Boolean(body.stream), ...(body.user ? { user: body.user } : {}) },
    };
    if (body.stream) {
      await streamChat(ctx, openai, tenantId, chat, { includeUsage: body.stream_options?.include_usage === true });
      return;
    }
    const outcome = await openai.outcome(tenantId, chat, { ms: CHAT_WAIT_MS, gone });
    if (!outcome && gone()) {
      await openai.cancel(chat);
      return;
    }
    if (!outcome) throw stillRunning(chat);
    ctx.body = {
      id: chat.id,
      object: 'chat.completion',
      created: chat.created,
      model: chat.model,
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: outcome.content, refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: outcome.usage,
      beyondcloud: outcome.beyondcloud,
    };
  });

  router.post('/embeddings', operate, async (ctx) => {
    const body = embeddingsBody.parse(ctx.request.body ?? {});
    ctx.body = await openai.embeddings(ctx.state.principal.tenantId, body);
  });

  return router;
}

const stillRunning = (chat: StartedChat) =>
  new AppError({
    code: 'answer_timeout',
    message: `The ${chat.kind === 'agent' ? 'agent run' : 'answer'} was not ready within ${CHAT_WAIT_MS / 60_000} minutes; it goes on as ${chat.kind === 'agent' ? 'run' : 'answer'} ${chat.id}.`,
    status: 504,
    category: 'dependency',
    details: { workflowId: chat.workflowId },
  });

/**
 * The chat as Server-Sent Events in OpenAI's chunk format: the assistant's role at once, keep-alive comments while the
 * run retrieves, generates and passes its grounding check, then the released content (only an answer that passed the
 * gate is ever sent), a last chunk with `finish_reason` and BeyondCloud's sources and verdicts, the usage chunk when
 * asked for, and `[DONE]`. A failed run ends the stream with an `error` event as OpenAI sends one; the client leaving
 * first cancels the run.
 */
async function streamChat(
  ctx: Context,
  openai: OpenAiService,
  tenantId: string,
  chat: StartedChat,
  opts: { includeUsage: boolean },
) {
  ctx.respond = false;
  ctx.status = 200;
  ctx.req.socket.setTimeout(0);
  const res = ctx.res;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const gone = clientGone({ res });
  const send = (data: unknown) => {
    if (!gone()) res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  };
  const chunk = (delta: Record<string, unknown>, finish: 'stop' | null, extra: Record<string, unknown> = {}) => ({
    id: chat.id,
    object: 'chat.completion.chunk',
    created: chat.created,
    model: chat.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(opts.includeUsage ? { usage: null } : {}),
    ...extra,
  });

  try {
    send(chunk({ role: 'assistant', content: '' }, null));
    const started = Date.now();
    let outcome: ChatOutcome | null = null;
    while (!gone() && !outcome && Date.now() - started < CHAT_WAIT_MS) {
      outcome = await openai.outcome(tenantId, chat, { ms: KEEP_ALIVE_MS, gone });
      if (!outcome && !gone()) res.write(': keep-alive\n\n');
    }
    if (gone()) {
      await openai.cancel(chat);
      return;
    }
    if (!outcome) throw stillRunning(chat);
    for (const piece of contentPieces(outcome.content)) send(chunk({ content: piece }, null));
    send(chunk({}, 'stop', { beyondcloud: outcome.beyondcloud }));
    if (opts.includeUsage) {
      send({
        id: chat.id,
        object: 'chat.completion.chunk',
        created: chat.created,
        model: chat.model,
        system_fingerprint: null,
        choices: [],
        usage: outcome.usage,
      });
    }
    send('[DONE]');
  } catch (err) {
    // Headers are sent: the error travels as OpenAI streams one (the SDK raises it), never as a bare 500.
    const e =
      err instanceof AppError
        ? err
        : new AppError({ code: 'internal', message: 'Internal error; it has been logged.', status: 500 });
    if (!(err instanceof AppError)) ctx.app.emit('error', err, ctx);
    send(openaiError(e.status, { error: { code: e.code, message: e.message, details: e.details } }));
  } finally {
    if (!res.writableEnded) res.end();
  }
}
