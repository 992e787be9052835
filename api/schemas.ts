import { z } from 'zod';
import { PROMPT_NAMES, type PromptName } from '../lib/contracts';

/** Request schemas more than one route uses: one definition each, so their rules and messages cannot drift. */

export const uuid = z.uuid({ error: 'must be a UUID' });

/** A path parameter that can name a row: anything else is answered as not found, without a query. */
export const isUuid = (id: string) => z.uuid().safeParse(id).success;

/** The collections an answer, search, conversation or agent reads. */
export const collectionIdList = z.array(uuid).min(1).max(20);

/** A model as the gateway names it (`gpt-4o-mini`, `local:minilm`, `org/model`). */
export const modelName = z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/);

/** A client-chosen run id: sending it again finds the same run, so the start is idempotent. */
export const clientRunId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** `?pageSize=` of a listing (`?limit=` on older ones). */
export const pageSize = z.coerce.number().int().min(1).max(200).default(50);

/** The longest `?wait=true` on answers: past it the answer is returned running, to be read again. */
export const MAX_WAIT_MS = 120_000;

export const waitQuery = z.object({
  wait: z.enum(['true', 'false', '1', '0']).optional(),
  timeoutMs: z.coerce.number().int().min(1).max(MAX_WAIT_MS).optional(),
});

/** How long an answer request waits (`?wait=true|1`, bounded by `?timeoutMs=`): 0 for no wait. */
export function waitMsParam(query: unknown): number {
  const { wait, timeoutMs } = waitQuery.parse(query);
  return wait === 'true' || wait === '1' ? (timeoutMs ?? MAX_WAIT_MS) : 0;
}

/** A run start waits for the run's result on exactly `?wait=true`; anything else answers 202 at once. */
export const waitsForResult = (query: Record<string, unknown>) => query.wait === 'true';

/**
 * Which prompt versions a run uses, per prompt name: a version number or a label (`{"answer": "candidate"}`,
 * `{"judge": 3}`); names left out use their `production` label.
 */
export const promptSelection = z
  .object(
    Object.fromEntries(
      PROMPT_NAMES.map((name) => [
        name,
        z
          .union([
            z.number().int().min(1).max(1_000_000),
            z.string().regex(/^[a-z0-9_-]{1,40}$/, 'must be a version number or a label name'),
          ])
          .optional(),
      ]),
    ) as Record<PromptName, z.ZodOptional<z.ZodUnion<[z.ZodNumber, z.ZodString]>>>,
  )
  .strict();
