/**
 * What changed between a recorded answer and its counterfactual replay (issue 19): claims added, removed or judged
 * differently, citations gained and lost, and the cost, latency and grounding-score deltas. Pure: the replay's
 * activity (activities/replay.ts) feeds it the two sides, the replay summary sums its results.
 */
import type { ClaimChange, ContextPassage, GroundingReport, Verdict } from '../contracts';
import { normalizeText } from '../llm/text';

/** Answers a replay can start from: finished ones (not running, held for review, or failed). */
export const REPLAYABLE_STATUSES = ['answered', 'abstained'] as const;

/** A citation as a reader can tell it apart: the document's source and the chunk (`pickle.md#<chunkId>`). */
export const citationId = (p: Pick<ContextPassage, 'source' | 'chunkId'>) => `${p.source}#${p.chunkId}`;

/** Claims are the same claim when their text is, up to Unicode form, case and spacing. */
const claimKey = (claim: string) => normalizeText(claim).replace(/\s+/g, ' ').trim();

/** Claims of the new report not in the old, of the old not in the new, and those whose verdict changed. */
export function diffClaims(before: GroundingReport | null, after: GroundingReport | null): ClaimChange[] {
  const old = new Map<string, { claim: string; verdict: Verdict }>();
  for (const c of before?.claims ?? []) if (!old.has(claimKey(c.claim))) old.set(claimKey(c.claim), c);
  const changes: ClaimChange[] = [];
  const seen = new Set<string>();
  for (const c of after?.claims ?? []) {
    const key = claimKey(c.claim);
    if (seen.has(key)) continue;
    seen.add(key);
    const was = old.get(key);
    if (!was) changes.push({ claim: c.claim, change: 'added', before: null, after: c.verdict });
    else if (was.verdict !== c.verdict)
      changes.push({ claim: c.claim, change: 'verdict_changed', before: was.verdict, after: c.verdict });
  }
  for (const [key, c] of old)
    if (!seen.has(key)) changes.push({ claim: c.claim, change: 'removed', before: c.verdict, after: null });
  return changes;
}

/** Citations (by chunk) the new answer has and the old had not, and the reverse; each as `source#chunkId`. */
export function diffCitations(
  before: ReadonlyArray<Pick<ContextPassage, 'source' | 'chunkId'>>,
  after: ReadonlyArray<Pick<ContextPassage, 'source' | 'chunkId'>>,
): { added: string[]; removed: string[] } {
  const oldIds = new Set(before.map((p) => p.chunkId));
  const newIds = new Set(after.map((p) => p.chunkId));
  const unique = (ids: string[]) => [...new Set(ids)];
  return {
    added: unique(after.filter((p) => !oldIds.has(p.chunkId)).map(citationId)),
    removed: unique(before.filter((p) => !newIds.has(p.chunkId)).map(citationId)),
  };
}

/** USD amounts are shown to the micro-dollar: float sums of token prices would otherwise print as 0.30000000000000004. */
const usd = (n: number) => Math.round(n * 1e6) / 1e6;
const score = (n: number) => Math.round(n * 1e4) / 1e4;

export interface SideMetrics {
  costUsd: number;
  latencyMs: number;
  groundingScore: number | null;
}

/** new − old of cost, latency and grounding score (null when either side has no score). */
export function metricDelta(before: SideMetrics, after: SideMetrics) {
  return {
    costUsd: usd(after.costUsd - before.costUsd),
    latencyMs: after.latencyMs - before.latencyMs,
    groundingScore:
      before.groundingScore === null || after.groundingScore === null
        ? null
        : score(after.groundingScore - before.groundingScore),
  };
}

/** What a replay's summary counts of one item (the fields of ReplayItemResult it reads). */
export interface SummarizableItem {
  answerId: string;
  status: 'completed' | 'failed';
  old: { status: string } | null;
  new: { status: string } | null;
  claims: ClaimChange[];
  citations: { added: string[]; removed: string[] };
  delta: { costUsd: number; latencyMs: number; groundingScore: number | null } | null;
}

export interface ReplaySummary {
  items: number;
  completed: number;
  failed: number;
  claims: { added: number; removed: number; verdictChanged: number };
  citations: { added: number; removed: number };
  /** new − old over the completed items: cost and latency summed, grounding score averaged (over scored items). */
  delta: { costUsd: number; latencyMs: number; groundingScore: number | null };
  /** Items whose status changed (answered → abstained, ...). */
  statusChanged: Array<{ answerId: string; before: string; after: string }>;
}

/** The replay's totals over its items: counts, claim and citation changes, summed deltas, changed statuses. */
export function summarizeReplay(items: readonly SummarizableItem[]): ReplaySummary {
  const done = items.filter((i) => i.status === 'completed');
  const claims = done.flatMap((i) => i.claims);
  const scored = done.flatMap((i) => (i.delta?.groundingScore == null ? [] : [i.delta.groundingScore]));
  return {
    items: items.length,
    completed: done.length,
    failed: items.length - done.length,
    claims: {
      added: claims.filter((c) => c.change === 'added').length,
      removed: claims.filter((c) => c.change === 'removed').length,
      verdictChanged: claims.filter((c) => c.change === 'verdict_changed').length,
    },
    citations: {
      added: done.reduce((n, i) => n + i.citations.added.length, 0),
      removed: done.reduce((n, i) => n + i.citations.removed.length, 0),
    },
    delta: {
      costUsd: usd(done.reduce((s, i) => s + (i.delta?.costUsd ?? 0), 0)),
      latencyMs: done.reduce((s, i) => s + (i.delta?.latencyMs ?? 0), 0),
      groundingScore: scored.length ? score(scored.reduce((s, d) => s + d, 0) / scored.length) : null,
    },
    statusChanged: done.flatMap((i) =>
      i.old && i.new && i.old.status !== i.new.status
        ? [{ answerId: i.answerId, before: i.old.status, after: i.new.status }]
        : [],
    ),
  };
}
