import type { Orm } from '../db/orm';

/**
 * Tokens (input + output, all purposes) the tenant's model calls recorded in `llm_calls` today (UTC): what the
 * gateway's global daily budget and the tenant's daily token quota (lib/quota) are both measured against.
 */
export async function tokensUsedToday(orm: Orm, tenantId: string): Promise<number> {
  const rows = (await orm.em.getConnection().execute(
    `select coalesce(sum(input_tokens + output_tokens), 0)::bigint as used from llm_calls
       where tenant_id = ? and created_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'`,
    [tenantId],
  )) as Array<{ used: string | number }>;
  return Number(rows[0]?.used ?? 0);
}
