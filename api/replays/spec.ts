import { z } from 'zod';
import { REPLAYABLE_STATUSES } from '../../lib/evals/replay-diff';
import { collectionIdList, modelName, promptSelection, uuid } from '../schemas';

/** Request schemas of /v1/replays (the routes parse with them, the OpenAPI document describes them). */

/** Answers one replay takes at most. */
export const MAX_REPLAY_ANSWERS = 200;

export const retrievalFields = ['topK', 'collectionIds', 'maxContextTokens', 'rerank'] as const;
export const generationFields = ['model', 'prompts'] as const;

export const createReplayBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    mode: z.enum(['generation', 'retrieval']).default('generation'),
    answerIds: z.array(uuid).min(1).max(MAX_REPLAY_ANSWERS).optional(),
    filter: z
      .object({
        status: z.enum(REPLAYABLE_STATUSES).optional(),
        since: z.iso.datetime({ offset: true }).optional(),
        until: z.iso.datetime({ offset: true }).optional(),
        limit: z.number().int().min(1).max(MAX_REPLAY_ANSWERS).default(50),
      })
      .strict()
      .optional(),
    datasetId: uuid.optional(),
    setup: z
      .object({
        model: modelName.optional(),
        prompts: promptSelection.optional(),
        groundingThreshold: z.number().min(0).max(1).optional(),
        groundingMethod: z.enum(['auto', 'llm', 'deterministic']).optional(),
        topK: z.number().int().min(1).max(50).optional(),
        collectionIds: collectionIdList.optional(),
        maxContextTokens: z.number().int().min(100).max(100_000).optional(),
        rerank: z.boolean().optional(),
      })
      .strict()
      .default({}),
    concurrency: z.number().int().min(1).max(16).optional(),
  })
  .strict()
  .refine((b) => [b.answerIds, b.filter, b.datasetId].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of answerIds, filter or datasetId',
  });
export type CreateReplay = z.infer<typeof createReplayBody>;

export const itemsQuery = z
  .object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
