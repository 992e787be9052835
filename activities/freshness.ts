import { Context } from '@temporalio/activity';
import type { AnswerFreshness, AnswerFreshnessDetail, AnswerResult, Citation } from '../lib/contracts';
import { checkAnswer } from '../lib/rag/grounding';
import { changedCitations, freshnessOf } from '../lib/rag/freshness';
import type { ActivityDeps } from './index';

/** How many of a changed document's current chunks the re-check reads as evidence (its first ones, in order). */
const MAX_EVIDENCE_CHUNKS = 200;

/**
 * Stale answers (issue 18 item 3): the answers that cited a changed document, checked again against the documents'
 * text now with the offline grounding check (semantic with the local encoder, lexical without), and marked
 * `current`, `stale` or `unsupported_now` on the answer record.
 */
export function createFreshnessActivities({ orm, llm }: Pick<ActivityDeps, 'orm' | 'llm'>) {
  return {
    /** A page of the tenant's released answers that cite any of the documents, oldest first after `after`. */
    async answersCiting(input: {
      tenantId: string;
      documentIds: string[];
      after?: { createdAt: string; id: string };
      limit: number;
    }): Promise<Array<{ id: string; createdAt: string }>> {
      if (!input.documentIds.length) return [];
      const cites = input.documentIds.map(() => `(result -> 'citations') @> cast(? as jsonb)`).join(' or ');
      const rows = (await orm.em.getConnection().execute(
        `select id, created_at from answers
          where tenant_id = ? and status = 'answered' and (${cites})
            and (cast(? as timestamptz) is null or (created_at, id) > (cast(? as timestamptz), cast(? as uuid)))
          order by created_at, id limit ?`,
        [
          input.tenantId,
          ...input.documentIds.map((id) => JSON.stringify([{ documentId: id }])),
          input.after?.createdAt ?? null,
          input.after?.createdAt ?? null,
          input.after?.id ?? null,
          input.limit,
        ],
      )) as Array<{ id: string; created_at: Date | string }>;
      return rows.map((r) => ({ id: r.id, createdAt: new Date(r.created_at).toISOString() }));
    },

    /** One answer checked against its documents now; the verdict is written on the answer (idempotent). */
    async recheckAnswer(input: {
      tenantId: string;
      answerId: string;
      causeWorkflowId?: string;
    }): Promise<AnswerFreshness | null> {
      const conn = orm.em.getConnection();
      const [row] = (await conn.execute(`select question, answer, result from answers where tenant_id = ? and id = ?`, [
        input.tenantId,
        input.answerId,
      ])) as Array<{ question: string; answer: string | null; result: AnswerResult | null }>;
      if (!row?.result || !row.answer) return null; // deleted meanwhile (retention), or never released
      const citations: Citation[] = Array.isArray(row.result.citations) ? row.result.citations : [];
      const documentIds = [...new Set(citations.map((c) => c.documentId))];
      const current = new Map<string, string[]>();
      if (documentIds.length) {
        const chunks = (await conn.execute(
          `select c.document_id, c.text from chunks c join documents d on d.id = c.document_id
            where c.tenant_id = ? and c.document_id = any (cast(? as uuid[])) and d.status = 'ready'
            order by c.document_id, c.ordinal`,
          [input.tenantId, `{${documentIds.join(',')}}`],
        )) as Array<{ document_id: string; text: string }>;
        for (const c of chunks) {
          const list = current.get(c.document_id) ?? [];
          list.push(c.text);
          current.set(c.document_id, list);
        }
      }
      const changed = changedCitations(citations, current);
      const threshold = row.result.grounding?.threshold ?? 0.7;
      let score: number | null = null;
      if (changed.length && current.size) {
        // Evidence: the unchanged passages as cited, and the changed documents' text as it is now.
        const changedDocs = new Set(citations.filter((c) => changed.includes(c.n)).map((c) => c.documentId));
        const evidence = [
          ...citations.filter((c) => !changed.includes(c.n)).map((c) => ({ id: c.chunkId, text: c.text })),
          ...[...changedDocs].flatMap((d) =>
            (current.get(d) ?? []).slice(0, MAX_EVIDENCE_CHUNKS).map((text, i) => ({ id: `${d}:${i}`, text })),
          ),
        ];
        const checked = await checkAnswer(row.answer, evidence, {
          question: row.question,
          encoder: llm.localEncoder(),
          signal: Context.current().cancellationSignal,
        });
        const claims = checked.claims;
        score = claims.length ? claims.filter((c) => c.verdict === 'supported').length / claims.length : 1;
      }
      const verdict = freshnessOf({ changed, anyDocumentLeft: current.size > 0, score, threshold });
      const detail: AnswerFreshnessDetail = {
        changedCitations: changed,
        removedDocuments: documentIds.filter((d) => !current.has(d)),
        score,
        threshold,
        causeWorkflowId: input.causeWorkflowId ?? null,
      };
      await conn.execute(
        `update answers set freshness = ?, freshness_checked_at = now(), freshness_detail = cast(? as jsonb)
          where tenant_id = ? and id = ?`,
        [verdict, JSON.stringify(detail), input.tenantId, input.answerId],
      );
      return verdict;
    },
  };
}
