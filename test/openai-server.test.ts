import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deterministicEmbedding, startOpenAiServer, type OpenAiTestServer, type RequestBody } from './openai-server';

/** The scripted OpenAI-compatible server, driven by the real `openai` client. */
const API_KEY = 'sk-test-key';
let server: OpenAiTestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: API_KEY });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
});
afterAll(() => server?.close());
afterEach(() => {
  expect(server.chat.pending, 'every scripted chat step was used').toBe(0);
  expect(server.embeddings.pending, 'every scripted embeddings step was used').toBe(0);
  server.reset();
});

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'What is the weather in Oslo?' },
];
const tools = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of stream) out.push(x);
  return out;
}

describe('chat completions', () => {
  it('answers a plain completion with OpenAI’s shape and records the request', async () => {
    server.chat.enqueue({
      reply: {
        content: 'Sunny, 21°C.',
        usage: { prompt_tokens: 20, completion_tokens: 5 },
        model: 'gpt-4o-mini-2024-07-18',
      },
    });
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0 });

    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.object).toBe('chat.completion');
    expect(res.created).toBeGreaterThan(1_600_000_000);
    expect(res.model).toBe('gpt-4o-mini-2024-07-18');
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'Sunny, 21°C.' });
    expect(res.choices[0]!.message.tool_calls).toBeUndefined();
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 });
    expect(res._request_id).toMatch(/^req_/);

    const [req] = server.requestsTo('/v1/chat/completions');
    expect(req).toMatchObject({ method: 'POST', path: '/v1/chat/completions', aborted: false });
    expect(req!.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(req!.headers['content-type']).toContain('application/json');
    expect(req!.body).toMatchObject({ model: 'gpt-4o-mini', messages, temperature: 0 });
    expect(req!.receivedAt).toBeLessThanOrEqual(Date.now());
    expect(server.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('answers "ok" with estimated usage when nothing is scripted', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(res.choices[0]!.message.content).toBe('ok');
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);
  });

  it('round-trips tool calls', async () => {
    server.chat.enqueue(
      {
        reply: {
          toolCalls: [
            { id: 'call_weather_1', name: 'get_weather', arguments: { city: 'Oslo' } },
            { name: 'get_weather', arguments: '{"city": "Bergen"' }, // invalid JSON, passed through as is
          ],
        },
      },
      { reply: { content: 'Oslo is sunny.' } },
    );
    const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const calls = choice.message.tool_calls!;
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual({
      id: 'call_weather_1',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
    });
    expect(calls[1]!.id).toMatch(/^call_/);
    expect(calls[1]!.type === 'function' && calls[1]!.function.arguments).toBe('{"city": "Bergen"');
    const fn = calls[0]!.type === 'function' ? calls[0]!.function : undefined;
    expect(JSON.parse(fn!.arguments)).toEqual({ city: 'Oslo' });

    const second = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      tools,
      messages: [
        ...messages,
        choice.message,
        { role: 'tool', tool_call_id: 'call_weather_1', content: '{"sky":"clear"}' },
      ],
    });
    expect(second.choices[0]!.message.content).toBe('Oslo is sunny.');
    const sent = server.requests[1]!.body!.messages as Array<{ role: string; tool_call_id?: string }>;
    expect(sent.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_weather_1' });
    expect(server.requests[1]!.body!.tools).toEqual(tools);
  });

  it('scripts conditionally with a step function', async () => {
    server.chat.enqueue((req) => ({
      reply: { content: `you said ${(req.body!.messages as Array<{ content: string }>).at(-1)!.content}` },
    }));
    const res = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]!.message.content).toBe('you said hi');
  });
});

describe('streaming', () => {
  it('streams content deltas that concatenate to the reply, then the usage chunk', async () => {
    const content = 'The weather in Oslo is sunny, with a light breeze from the west.  Enjoy!';
    server.chat.enqueue({ reply: { content, usage: { prompt_tokens: 30, completion_tokens: 17 } } });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = await collect(stream);

    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? ''));
    expect(deltas.filter((d) => d !== '').length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(content);
    const finish = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null);
    expect(finish).toEqual(['stop']);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 17, total_tokens: 47 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(server.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('sends no usage chunk without include_usage', async () => {
    const chunks = await collect(
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }),
    );
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('ok');
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
  });

  it('streams tool-call deltas that reassemble', async () => {
    const longArgs = { city: 'Oslo', units: 'metric', days: 3, note: 'a somewhat longer argument string' };
    server.chat.enqueue({
      reply: {
        content: 'Checking.',
        toolCalls: [
          { id: 'call_a', name: 'get_weather', arguments: longArgs },
          { id: 'call_b', name: 'get_time', arguments: { tz: 'Europe/Oslo' } },
        ],
      },
    });
    const chunks = await collect(
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        tools,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const calls: Array<{ id?: string; name: string; arguments: string }> = [];
    let argumentDeltas = 0;
    for (const c of chunks) {
      for (const tc of c.choices[0]?.delta.tool_calls ?? []) {
        const call = (calls[tc.index] ??= { name: '', arguments: '' });
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) {
          call.arguments += tc.function.arguments;
          argumentDeltas++;
        }
      }
    }
    expect(calls.map((c) => ({ ...c, arguments: JSON.parse(c.arguments) as unknown }))).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: longArgs },
      { id: 'call_b', name: 'get_time', arguments: { tz: 'Europe/Oslo' } },
    ]);
    expect(argumentDeltas).toBeGreaterThan(2);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Checking.');
    expect(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean)).toEqual(['tool_calls']);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);

    // The client's own accumulation agrees.
    server.chat.enqueue({ reply: { toolCalls: [{ id: 'call_c', name: 'get_weather', arguments: longArgs }] } });
    const runner = client.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    expect(call.id).toBe('call_c');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual(longArgs);
  });

  it('can break a stream mid-way', async () => {
    server.chat.enqueue({ reply: { content: 'one two three four five six', streamBreakAfterChunks: 3 } });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(seen.join('')).toBe('one two');
    expect(server.requests[0]!.aborted).toBe(false);
  });
  it('records a client that stops reading a slow stream as aborted', async () => {
    server.chat.enqueue({ reply: { content: 'a b c d e f g h', streamChunkDelayMs: 50 } });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) break; // the client aborts the request on break
    }
    await until(() => server.requests[0]!.aborted);
  });
});

describe('embeddings', () => {
  it('answers deterministic vectors of the requested dimensions', async () => {
    const input = ['alpha', 'beta', 'alpha'];
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input, dimensions: 16 });
    expect(res.object).toBe('list');
    expect(res.model).toBe('text-embedding-3-small');
    expect(res.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, 16],
      ['embedding', 1, 16],
      ['embedding', 2, 16],
    ]);
    // The client asked for base64 (its default) and decoded the float32 values: they are exactly the helper's.
    expect(server.requests[0]!.body).toMatchObject({ encoding_format: 'base64', dimensions: 16 });
    expect(res.data[0]!.embedding).toEqual(deterministicEmbedding('alpha', 16));
    expect(res.data[2]!.embedding).toEqual(res.data[0]!.embedding);
    expect(res.data[1]!.embedding).not.toEqual(res.data[0]!.embedding);
    const norm = Math.hypot(...res.data[0]!.embedding);
    expect(norm).toBeCloseTo(1, 5);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage.total_tokens).toBe(res.usage.prompt_tokens);

    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'alpha',
      encoding_format: 'float',
    });
    expect(floats.data).toHaveLength(1);
    expect(floats.data[0]!.embedding).toEqual(deterministicEmbedding('alpha', 8));
  });

  it('answers scripted vectors', async () => {
    server.embeddings.enqueue({
      embeddings: [
        [0.5, -0.25],
        [1, 0],
      ],
    });
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(res.data.map((d) => d.embedding)).toEqual([
      [0.5, -0.25],
      [1, 0],
    ]);
    expect(res.usage.prompt_tokens).toBe(2);
  });

  it('refuses a step meant for the other endpoint, without retries', async () => {
    server.embeddings.enqueue({ reply: { content: 'wrong' } });
    const err = await client.embeddings.create({ model: 'e', input: 'x' }, { maxRetries: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as Error).message).toContain('cannot answer /v1/embeddings');
    expect(server.requests).toHaveLength(1);
  });
});

describe('faults', () => {
  it('surfaces 429 as RateLimitError with retry-after readable', async () => {
    server.chat.enqueue({ status: 429, retryAfter: 7 });
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.headers.get('retry-after')).toBe('7');
    expect(e.code).toBe('rate_limit_exceeded');
    expect(e.message).toContain('Rate limit reached for gpt-4o-mini');
  });

  it('lets the client retry a 429 and succeed on the next step', async () => {
    server.chat.enqueue({ status: 429, retryAfter: 1, retryAfterMs: 20 }, { reply: { content: 'after the retry' } });
    const retrying = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 1 });
    const started = Date.now();
    const res = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(res.choices[0]!.message.content).toBe('after the retry');
    expect(Date.now() - started).toBeLessThan(900); // retry-after-ms wins over retry-after
    expect(server.requestsTo('/v1/chat/completions')).toHaveLength(2);
    expect(server.requests[1]!.headers['x-stainless-retry-count']).toBe('1');
  });

  it('surfaces context_length_exceeded as BadRequestError with the code', async () => {
    server.chat.enqueue({ status: 400, code: 'context_length_exceeded' });
    const err = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages }, { maxRetries: 3 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.code).toBe('context_length_exceeded');
    expect(e.type).toBe('invalid_request_error');
    expect(e.param).toBe('messages');
    expect(e.message).toContain("This model's maximum context length is");
    expect(server.requests).toHaveLength(1); // 400s are not retried
  });

  it('maps the other faults to the client’s error classes', async () => {
    const cases: Array<[Parameters<OpenAiTestServer['chat']['enqueue']>[0], new (...a: never[]) => Error, unknown]> = [
      [{ status: 400, code: 'content_filter' }, OpenAI.BadRequestError, 'content_filter'],
      [{ status: 401 }, OpenAI.AuthenticationError, 'invalid_api_key'],
      [{ status: 404, code: 'model_not_found' }, OpenAI.NotFoundError, 'model_not_found'],
      [{ status: 429, code: 'insufficient_quota' }, OpenAI.RateLimitError, 'insufficient_quota'],
      [{ status: 500 }, OpenAI.InternalServerError, null],
      [{ status: 502 }, OpenAI.InternalServerError, 502],
      [{ status: 503 }, OpenAI.InternalServerError, null],
    ];
    for (const [step, cls, code] of cases) {
      server.chat.enqueue(step);
      const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
      expect(err, JSON.stringify(step)).toBeInstanceOf(cls);
      expect((err as InstanceType<typeof OpenAI.APIError>).code, JSON.stringify(step)).toBe(code);
    }
    // 5xx are retried by the client: two steps, two requests.
    server.chat.enqueue({ status: 503, retryAfterMs: 1 }, { reply: { content: 'recovered' } });
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }, { maxRetries: 1 });
    expect(res.choices[0]!.message.content).toBe('recovered');
  });

  it('makes the client throw on malformed JSON', async () => {
    server.chat.enqueue({ malformedJson: true });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).rejects.toThrow(SyntaxError);
    server.embeddings.enqueue({ malformedJson: true });
    await expect(client.embeddings.create({ model: 'e', input: 'x' })).rejects.toThrow();
  });

  it('records a client-side abort during a slow step', async () => {
    server.chat.enqueue({ delayMs: 10_000, then: { reply: { content: 'too late' } } });
    const controller = new AbortController();
    const pending = client.chat.completions
      .create({ model: 'gpt-4o-mini', messages }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await until(() => server.requests.length === 1);
    expect(server.requests[0]!.aborted).toBe(false);
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    await until(() => server.requests[0]!.aborted);
    // The server carries on.
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(res.choices[0]!.message.content).toBe('ok');
    expect(server.requests[1]!.aborted).toBe(false);
  });

  it('answers a slow step once the delay is over', async () => {
    server.chat.enqueue({ delayMs: 150, then: { reply: { content: 'slow' } } });
    const started = Date.now();
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(res.choices[0]!.message.content).toBe('slow');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('records a client timeout as an abort', async () => {
    server.chat.enqueue({ delayMs: 5_000 });
    const err = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages }, { timeout: 100 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await until(() => server.requests[0]!.aborted);
  });

  it('surfaces a reset connection as APIConnectionError', async () => {
    server.chat.enqueue({ resetConnection: true });
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(err).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(server.requests[0]!.aborted).toBe(false);
  });
});

describe('authentication and validation', () => {
  it('refuses a wrong key with 401 and keeps the script', async () => {
    server.chat.enqueue({ reply: { content: 'for the right key' } });
    const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong-key', maxRetries: 0 });
    const err = await wrong.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    expect(server.chat.pending).toBe(1);
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(res.choices[0]!.message.content).toBe('for the right key');
  });

  it('answers 400 invalid_request_error to requests without model, messages or input', async () => {
    const bad: Array<[string, RequestBody, string]> = [
      ['/chat/completions', { messages }, 'model'],
      ['/chat/completions', { model: 'gpt-4o-mini' }, 'messages'],
      ['/chat/completions', { model: 'gpt-4o-mini', messages: [] }, 'messages'],
      ['/embeddings', { model: 'e' }, 'input'],
    ];
    for (const [path, body, word] of bad) {
      const err = await client.post(path, { body }).catch((e: unknown) => e);
      expect(err, path + JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).type).toBe('invalid_request_error');
      expect((err as Error).message).toContain(word);
    }
    const notJson = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect(server.requests.at(-1)!.rawBody).toBe('{"model":');

    const unknown = await fetch(`${server.url}/v1/completions-of-sorts`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    await unknown.body?.cancel();
  });
});

it('closes promptly with a slow step pending', async () => {
  const own = await startOpenAiServer();
  own.chat.enqueue({ delayMs: 30_000 });
  const c = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const pending = c.chat.completions.create({ model: 'm', messages }).catch((e: unknown) => e);
  await until(() => own.requests.length === 1);
  const started = Date.now();
  await own.close();
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  expect(own.requests[0]!.aborted).toBe(false);
});
