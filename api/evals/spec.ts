import { z } from 'zod';
import { EVAL_TARGETS, GROUNDING_METHODS } from '../../lib/contracts';
import { modelName, promptSelection, uuid } from '../schemas';

/** Request schemas of eval runs and experiments (api/routes/evals.ts) and of a scheduled eval job. */

/** The setup an eval run answers with (lib/contracts EvalConfig); also a scheduled eval job's. */
export const evalConfig = z
  .object({
    target: z.enum(EVAL_TARGETS).optional(),
    /** At least one for target `answer`; a grounding eval reads no collection. */
    collectionIds: z.array(uuid).max(20),
    model: modelName.optional(),
    judgeModel: modelName.optional(),
    prompts: promptSelection.optional(),
    topK: z.number().int().min(1).max(50).optional(),
    rerank: z.boolean().optional(),
    groundingThreshold: z.number().min(0).max(1).optional(),
    groundingMethod: z.enum(GROUNDING_METHODS).optional(),
    maxContextTokens: z.number().int().min(200).max(32_000).optional(),
  })
  .strict()
  .refine((c) => c.target === 'grounding' || c.collectionIds.length > 0, {
    path: ['collectionIds'],
    message: 'Too small: expected array to have >=1 items',
  });

export const createEvalRun = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    datasetId: uuid,
    /** Absent: the latest version. */
    datasetVersion: z.number().int().min(1).max(1_000_000).optional(),
    config: evalConfig,
    concurrency: z.number().int().min(1).max(16).optional(),
  })
  .strict();

export const createExperiment = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    /** Two to five eval runs; the first is the baseline unless `baselineRunId` says otherwise. */
    evalRunIds: z.array(uuid).min(2).max(5),
    baselineRunId: uuid.optional(),
  })
  .strict();

export const listQuery = z
  .object({
    datasetId: uuid.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const itemsQuery = z
  .object({
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    status: z.enum(['running', 'completed', 'failed']).optional(),
  })
  .strict();
