import { z } from 'zod';

/**
 * The OpenAI-compatible endpoint's request and response shapes (issue 20), as OpenAI's API reference defines them:
 * the parts BeyondCloud reads are validated; fields OpenAI clients send that do not apply to a grounded answer
 * (`top_p`, penalties, `seed`, `stop`, `logit_bias`, `store`, ...) are accepted and ignored, as other
 * OpenAI-compatible servers do, so stock clients and chat front ends work unchanged.
 */

/** `rag/<collection name or id>`, `rag/*` (every collection) or `agent/<saved agent name>`. */
export const openaiModel = z
  .string()
  .min(1)
  .max(300)
  .describe('A model of `GET /v1/openai/models`: `rag/<collection>`, `rag/*` or `agent/<saved agent>`');

const textPart = z.looseObject({ type: z.literal('text'), text: z.string().max(100_000) });
const otherPart = z.looseObject({ type: z.string().min(1).max(100) });

const content = z.union([z.string().max(100_000), z.array(z.union([textPart, otherPart])).max(100), z.null()]);

export const chatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: content.optional(),
  name: z.string().max(200).optional(),
});
export type ChatMessageIn = z.infer<typeof chatMessage>;

/** BeyondCloud's own request options, in an extra field that OpenAI clients pass through (`extra_body`). */
export const beyondcloudOptions = z
  .object({
    /** `footer` (default) appends the numbered sources to the content for chat front ends; `none` leaves it bare. */
    sources: z.enum(['footer', 'none']).default('footer'),
    topK: z.number().int().min(1).max(50).optional(),
    groundingThreshold: z.number().min(0).max(1).optional(),
    /** Below the threshold: abstain (default), or hold the answer for a reviewer (the client gets the abstention). */
    policy: z.enum(['abstain', 'review']).optional(),
  })
  .strict();

export const chatCompletionBody = z.looseObject({
  model: openaiModel,
  messages: z.array(chatMessage).min(1).max(200),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  max_tokens: z.number().int().min(1).max(100_000).nullish(),
  max_completion_tokens: z.number().int().min(1).max(100_000).nullish(),
  n: z.number().int().min(1).max(1).nullish(),
  user: z.string().max(256).nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  tools: z.array(z.unknown()).max(0, 'tools are not taken: an `agent/` model calls its own tools').nullish(),
  beyondcloud: beyondcloudOptions.optional(),
});
export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;

export const embeddingsBody = z.looseObject({
  model: openaiModel,
  input: z.union([z.string().min(1).max(100_000), z.array(z.string().min(1).max(100_000)).min(1).max(256)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).max(16_000).nullish(),
  user: z.string().max(256).nullish(),
});
export type EmbeddingsBody = z.infer<typeof embeddingsBody>;

// ---------------------------------------------------------------------------------------------------------------
// Responses (documented in the OpenAPI document)

const usage = z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() });

/** What BeyondCloud adds to a completion (and to the final chunk of a stream); OpenAI clients ignore it. */
export const beyondcloudExtra = z
  .object({
    answerId: z.string().nullable().describe('The answer’s id; null for an agent run'),
    workflowId: z.string(),
    kind: z.enum(['answer', 'agent']),
    status: z
      .string()
      .describe(
        '`answered`, `abstained`, `rejected`, `pending_review`; for an agent `completed`, `budget_exhausted` or `waiting_for_approval`',
      ),
    sources: z.array(
      z.object({
        n: z.number(),
        title: z.string().nullable(),
        source: z.string(),
        page: z.number().nullable(),
        documentId: z.string(),
        collectionId: z.string(),
        chunkId: z.string(),
        text: z.string(),
      }),
    ),
    grounding: z
      .object({
        score: z.number(),
        threshold: z.number(),
        passed: z.boolean(),
        method: z.string(),
        claims: z.array(
          z.object({ claim: z.string(), verdict: z.string(), confidence: z.number(), source: z.number().nullable() }),
        ),
      })
      .nullable(),
    /** An agent's tool calls, in order. */
    toolCalls: z.array(z.object({ tool: z.string(), outcome: z.string() })).optional(),
    costUsd: z.number(),
  })
  .meta({ id: 'BeyondCloudCompletionExtra' });

export const modelObject = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number(),
  owned_by: z.string(),
  description: z.string().optional(),
});
export const modelsResponse = z.object({ object: z.literal('list'), data: z.array(modelObject) });

export const chatCompletionResponse = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number(),
  model: z.string(),
  system_fingerprint: z.null(),
  choices: z.array(
    z.object({
      index: z.number(),
      message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
      finish_reason: z.enum(['stop', 'length']),
      logprobs: z.null(),
    }),
  ),
  usage,
  beyondcloud: beyondcloudExtra,
});

export const embeddingsResponse = z.object({
  object: z.literal('list'),
  model: z.string(),
  data: z.array(
    z.object({
      object: z.literal('embedding'),
      index: z.number(),
      embedding: z.union([z.array(z.number()), z.string().describe('base64 of little-endian float32')]),
    }),
  ),
  usage: z.object({ prompt_tokens: z.number(), total_tokens: z.number() }),
});

/** OpenAI's error shape, which every response under `/v1/openai` has instead of the API's own. */
export const openaiErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().describe('`invalid_request_error`, `authentication_error`, `permission_error`, …'),
      param: z.string().nullable(),
      code: z.string().nullable().describe('The API’s stable code, e.g. `model_not_found`, `forbidden`'),
    }),
  })
  .meta({ id: 'OpenAIError', description: 'Errors of the OpenAI-compatible endpoint, in OpenAI’s shape.' });
