/**
 * `npm run cli -- replays ...`: counterfactual replays of past answers through /v1/replays.
 *   replays                                 list, newest first
 *   replays start --answer <id>... | --status answered|abstained [--since <iso>] [--until <iso>] --limit N | --dataset <id>
 *                 [--mode generation] [--model M] [--prompt answer=2|answer=candidate]... [--threshold 0.75]
 *                 [--grounding-method auto|llm|deterministic]
 *                 [--mode retrieval] [--top-k N] [--collection <id>]... [--max-context-tokens N] [--rerank|--no-rerank]
 *                 [--name text] [--concurrency N] [--wait]
 *   replays show <id> [--items]             setup, progress, summary; with --items each answer's comparison
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { promptOption } from './options';
import { table } from './usage';

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

interface ReplayView {
  id: string;
  name: string;
  mode: string;
  setup: Record<string, unknown>;
  status: string;
  workflowId: string;
  progress: { total: number; done: number; completed: number; failed: number };
  summary: {
    claims: { added: number; removed: number; verdictChanged: number };
    citations: { added: number; removed: number };
    delta: { costUsd: number; latencyMs: number; groundingScore: number | null };
    statusChanged: Array<{ answerId: string; before: string; after: string }>;
  } | null;
  error: string | null;
  createdBy: string;
  createdAt: string;
}

interface ReplayItem {
  index: number;
  answerId: string;
  workflowId: string;
  status: string;
  old: { text: string; status: string; groundingScore: number | null } | null;
  new: { text: string; status: string; groundingScore: number | null } | null;
  claims: Array<{ claim: string; change: string; before: string | null; after: string | null }>;
  citations: { added: string[]; removed: string[] };
  delta: { costUsd: number; latencyMs: number; groundingScore: number | null } | null;
  source: string | null;
  error?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const signed = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined ? '-' : `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
const clip = (s: string, n = 100) => (s.length > n ? `${s.slice(0, n - 1)}…` : s).replace(/\s+/g, ' ');

function show(r: ReplayView): string {
  const s = r.summary;
  return [
    `${r.name}  (${r.id}; run ${r.workflowId})`,
    `  mode:     ${r.mode}   setup: ${JSON.stringify(r.setup)}`,
    `  status:   ${r.status}${r.error ? ` — ${r.error}` : ''}`,
    `  progress: ${r.progress.done}/${r.progress.total} (${r.progress.failed} failed)`,
    ...(s
      ? [
          `  claims:   +${s.claims.added} added, -${s.claims.removed} removed, ${s.claims.verdictChanged} changed verdict`,
          `  cited:    +${s.citations.added} / -${s.citations.removed}`,
          `  delta:    cost ${signed(s.delta.costUsd, 6)} USD, latency ${signed(s.delta.latencyMs)} ms, grounding ${signed(s.delta.groundingScore, 3)} (mean)`,
          ...s.statusChanged.map((c) => `  changed:  ${c.answerId}  ${c.before} → ${c.after}`),
        ]
      : []),
    `  created:  ${r.createdAt} by ${r.createdBy}`,
  ].join('\n');
}

function showItem(i: ReplayItem): string {
  if (i.status === 'failed') return `#${i.index} ${i.answerId}  failed: ${i.error ?? 'unknown'}`;
  return [
    `#${i.index} ${i.answerId}  ${i.old?.status} → ${i.new?.status}  grounding ${i.old?.groundingScore ?? '-'} → ${i.new?.groundingScore ?? '-'}  cost ${signed(i.delta?.costUsd, 6)} USD  latency ${signed(i.delta?.latencyMs)} ms  (passages from ${i.source})`,
    `   old: ${clip(i.old?.text ?? '')}`,
    `   new: ${clip(i.new?.text ?? '')}`,
    ...i.claims.map((c) => `   ${c.change}: ${clip(c.claim, 80)} (${c.before ?? '-'} → ${c.after ?? '-'})`),
    ...(i.citations.added.length ? [`   cites now: ${i.citations.added.join(', ')}`] : []),
    ...(i.citations.removed.length ? [`   no longer: ${i.citations.removed.join(', ')}`] : []),
    `   run: ${i.workflowId}`,
  ].join('\n');
}

export function registerReplaysCommand(program: Command, api: Api, fail: (message: string) => Error): void {
  const replays = program
    .command('replays')
    .description('counterfactual replays of past answers with a new model, prompt or retrieval')
    .action(async () => {
      const { replays: rows } = await api<{ replays: ReplayView[] }>('GET', '/v1/replays');
      if (!rows.length) return console.log('no replays');
      console.log(
        table(
          ['name', 'mode', 'status', 'done', 'claims +/-/~', 'cost delta', 'created', 'id'],
          rows.map((r) => [
            r.name,
            r.mode,
            r.status,
            `${r.progress.done}/${r.progress.total}`,
            r.summary
              ? `${r.summary.claims.added}/${r.summary.claims.removed}/${r.summary.claims.verdictChanged}`
              : '-',
            r.summary ? signed(r.summary.delta.costUsd, 6) : '-',
            r.createdAt,
            r.id,
          ]),
        ),
      );
    });

  replays
    .command('start')
    .description('replay past answers: pick them by id, by filter or by dataset')
    .option('--answer <id>', 'an answer id (repeatable)', collect)
    .option('--status <status>', 'filter: answered or abstained')
    .option('--since <iso>', 'filter: answers created at or after')
    .option('--until <iso>', 'filter: answers created before')
    .option('--limit <n>', 'filter: at most this many answers, newest first (≤ 200)')
    .option('--dataset <id>', "the answers a dataset's latest version was built from")
    .option('--mode <mode>', 'generation (recorded passages, new model/prompts) or retrieval (new retrieval)')
    .option('--model <model>', 'generation: the new answer model')
    .option(
      '--prompt <name=version|label>',
      'generation: a prompt version or label, e.g. answer=2 (repeatable)',
      collect,
    )
    .option('--threshold <share>', 'the grounding threshold (0..1)')
    .option('--grounding-method <method>', 'auto, llm or deterministic')
    .option('--top-k <n>', 'retrieval: passages retrieved')
    .option('--collection <id>', 'retrieval: a collection to retrieve from (repeatable)', collect)
    .option('--max-context-tokens <n>', 'retrieval: the context budget')
    .option('--rerank', 'retrieval: rerank the passages')
    .option('--no-rerank', 'retrieval: do not rerank')
    .option('--name <text>', 'a name for the replay')
    .option('--concurrency <n>', 'answers replayed at once (default 4)')
    .option('--wait', 'wait for the replay and print its summary and items')
    .action(
      async (o: {
        answer?: string[];
        status?: string;
        since?: string;
        until?: string;
        limit?: string;
        dataset?: string;
        mode?: string;
        model?: string;
        prompt?: string[];
        threshold?: string;
        groundingMethod?: string;
        topK?: string;
        collection?: string[];
        maxContextTokens?: string;
        rerank?: boolean;
        name?: string;
        concurrency?: string;
        wait?: boolean;
      }) => {
        const filter =
          o.status || o.since || o.until || o.limit
            ? {
                ...(o.status ? { status: o.status } : {}),
                ...(o.since ? { since: o.since } : {}),
                ...(o.until ? { until: o.until } : {}),
                ...(o.limit ? { limit: Number(o.limit) } : {}),
              }
            : undefined;
        const picked = [o.answer?.length ? 1 : 0, filter ? 1 : 0, o.dataset ? 1 : 0].reduce((a, b) => a + b, 0);
        if (picked !== 1)
          throw fail('Pick the answers one way: --answer <id>..., a filter (--status/--limit), or --dataset.');
        const mode = o.mode ?? (o.topK || o.collection?.length || o.maxContextTokens ? 'retrieval' : 'generation');
        const setup = {
          ...(o.model ? { model: o.model } : {}),
          ...(o.prompt?.length ? { prompts: promptOption(o.prompt, fail) } : {}),
          ...(o.threshold ? { groundingThreshold: Number(o.threshold) } : {}),
          ...(o.groundingMethod ? { groundingMethod: o.groundingMethod } : {}),
          ...(o.topK ? { topK: Number(o.topK) } : {}),
          ...(o.collection?.length ? { collectionIds: o.collection } : {}),
          ...(o.maxContextTokens ? { maxContextTokens: Number(o.maxContextTokens) } : {}),
          // --rerank is declared before --no-rerank, so neither given leaves it undefined (the recorded setting).
          ...(o.rerank !== undefined ? { rerank: o.rerank } : {}),
        };
        const started = await api<{ id: string; workflowId: string }>('POST', '/v1/replays', {
          mode,
          setup,
          ...(o.answer?.length ? { answerIds: o.answer } : {}),
          ...(filter ? { filter } : {}),
          ...(o.dataset ? { datasetId: o.dataset } : {}),
          ...(o.name ? { name: o.name } : {}),
          ...(o.concurrency ? { concurrency: Number(o.concurrency) } : {}),
        });
        console.log(`replay ${started.id} started (run ${started.workflowId})`);
        if (!o.wait) return;
        let r = await api<ReplayView>('GET', `/v1/replays/${started.id}`);
        while (r.status === 'running') {
          await sleep(1000);
          r = await api<ReplayView>('GET', `/v1/replays/${started.id}`);
        }
        console.log(show(r));
        await printItems(started.id);
      },
    );

  const printItems = async (id: string) => {
    for (let offset = 0; ; offset += 200) {
      const page = await api<{ items: ReplayItem[]; total: number }>(
        'GET',
        `/v1/replays/${id}/items?offset=${offset}&limit=200`,
      );
      for (const item of page.items) console.log(showItem(item));
      if (page.items.length < 200) break;
    }
  };

  replays
    .command('show <id>')
    .description('a replay: setup, progress and summary')
    .option('--items', 'each answer: old vs new text, claims and citations changed, deltas')
    .action(async (id: string, o: { items?: boolean }) => {
      console.log(show(await api<ReplayView>('GET', `/v1/replays/${id}`)));
      if (o.items) await printItems(id);
    });
}
