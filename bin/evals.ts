/**
 * `npm run cli -- evals ...` and `experiments ...`: eval runs over datasets and experiments comparing them.
 *   evals start --dataset <name|id> --collection <name|id>... [--version N] [--model M] [--judge-model M]
 *               [--prompt answer=2|answer=candidate]... [--top-k N] [--threshold 0.75] [--no-rerank]
 *               [--concurrency N] [--name text] [--wait]
 *   evals [--dataset <name|id>]            list, newest first, with their main metrics
 *   evals show <id>                        the aggregate metrics
 *   evals items <id>                       per item: answer status and scores
 *   evals cancel <id>
 *   experiments create <evalRunId> <evalRunId>... [--baseline <id>] [--name text]
 *   experiments                            list
 *   experiments show <id>                  each metric against the baseline: delta, 95% interval, wins/losses
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { EvalAggregate, MetricComparison } from '../lib/contracts';
import { promptOption } from './options';
import { table } from './usage';

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

interface EvalRunView {
  id: string;
  name: string;
  workflowId: string;
  status: string;
  dataset: { id: string; name: string; version: number | null };
  prompts: Array<{ name: string; version: number }>;
  itemCount: number | null;
  progress?: { completed: number; failed: number; running: number };
  aggregate: EvalAggregate | null;
  createdAt: string;
}

interface ItemView {
  index: number;
  itemId: string;
  question: string;
  status: string;
  answerStatus: string | null;
  workflowId: string | null;
  metrics: Record<string, number | null> | null;
  error?: string;
}

interface ExperimentView {
  id: string;
  name: string;
  baselineRunId: string;
  runs: EvalRunView[];
  comparisons: Array<{
    evalRunId: string;
    pairs: number;
    metrics: MetricComparison[];
    changed: Array<{ itemId: string; question: string }>;
  }>;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '-' : v.toFixed(digits));

export function registerEvalsCommand(program: Command, api: Api, fail: (message: string) => Error): void {
  const datasetRef = async (ref: string) => {
    const { datasets } = await api<{ datasets: Array<{ id: string; name: string }> }>('GET', '/v1/datasets');
    const d = datasets.find((x) => x.id === ref || x.name === ref);
    if (!d) throw fail(`No dataset "${ref}" (list them: npm run cli -- datasets list).`);
    return d;
  };
  const collectionRef = async (ref: string) => {
    const { collections } = await api<{ collections: Array<{ id: string; name: string }> }>('GET', '/v1/collections');
    const c = collections.find((x) => x.id === ref || x.name === ref);
    if (!c) throw fail(`No collection "${ref}".`);
    return c;
  };
  const summary = (r: EvalRunView) => {
    const m = r.aggregate?.metrics;
    return [
      r.name,
      r.status,
      `${r.dataset.name} v${r.dataset.version ?? '?'}`,
      num(m?.recallAtK.mean),
      num(m?.mrr.mean),
      num(m?.groundingScore.mean),
      num(r.aggregate?.abstainRate ?? null),
      r.aggregate?.latencyMs.p50 != null ? `${Math.round(r.aggregate.latencyMs.p50)} ms` : '-',
      r.aggregate ? `$${r.aggregate.costUsd.toFixed(4)}` : '-',
      r.id,
    ];
  };
  const show = (r: EvalRunView) => {
    const a = r.aggregate;
    const lines = [
      `${r.name}  (${r.id}; run ${r.workflowId})`,
      `  status:   ${r.status}${r.progress ? ` — ${r.progress.completed} done, ${r.progress.failed} failed, ${r.progress.running} running of ${r.itemCount ?? '?'}` : ''}`,
      `  dataset:  ${r.dataset.name} v${r.dataset.version ?? '?'} (${r.dataset.id})`,
      `  prompts:  ${r.prompts.map((p) => `${p.name} v${p.version}`).join(', ') || '-'}`,
    ];
    if (a) {
      lines.push(
        '',
        table(
          ['metric', 'mean', 'items'],
          Object.entries(a.metrics).map(([k, v]) => [k, num(v.mean), String(v.n)]),
          [false, true, true],
        ),
        '',
        `  abstain rate ${num(a.abstainRate)}; latency p50 ${num(a.latencyMs.p50, 0)} ms, p95 ${num(a.latencyMs.p95, 0)} ms`,
        `  tokens ${a.tokens.input} in / ${a.tokens.output} out; ${a.calls} model calls; cost $${a.costUsd.toFixed(4)}` +
          (a.judge ? ` (+ judge $${a.judge.costUsd.toFixed(4)} in ${a.judge.calls} calls)` : ''),
        `  verdicts: ${a.verdicts.supported} supported, ${a.verdicts.contradicted} contradicted, ${a.verdicts.unsupported} unsupported`,
      );
    }
    return lines.join('\n');
  };

  const evals = program
    .command('evals')
    .description("the tenant's eval runs")
    .option('--dataset <name|id>', 'only the runs of this dataset')
    .action(async (o: { dataset?: string }) => {
      const q = o.dataset ? `?datasetId=${(await datasetRef(o.dataset)).id}` : '';
      const { evalRuns } = await api<{ evalRuns: EvalRunView[] }>('GET', `/v1/evals${q}`);
      if (!evalRuns.length) return console.log('no eval runs');
      console.log(
        table(
          ['name', 'status', 'dataset', 'recall@k', 'MRR', 'grounding', 'abstain', 'p50', 'cost', 'id'],
          evalRuns.map(summary),
        ),
      );
    });

  evals
    .command('start')
    .description('answer every item of a dataset version with a configuration, and score it')
    .requiredOption('--dataset <name|id>', 'the dataset')
    .requiredOption('--collection <name|id>', 'a collection to answer from (repeatable)', collect)
    .option('--version <n>', 'the dataset version (default: the latest)')
    .option('--model <model>', 'the answer model')
    .option('--judge-model <model>', 'score correctness against expected answers with this model')
    .option('--prompt <name=version|label>', 'a prompt version or label, e.g. answer=2 (repeatable)', collect)
    .option('--top-k <n>', 'passages retrieved')
    .option('--threshold <share>', 'grounding threshold, 0..1')
    .option('--no-rerank', 'skip the rerank step')
    .option('--concurrency <n>', 'items answered at once (1..16)')
    .option('--name <text>', 'a name for the run')
    .option('--wait', 'wait for the run and print its metrics')
    .action(
      async (o: {
        dataset: string;
        collection: string[];
        version?: string;
        model?: string;
        judgeModel?: string;
        prompt?: string[];
        topK?: string;
        threshold?: string;
        rerank: boolean;
        concurrency?: string;
        name?: string;
        wait?: boolean;
      }) => {
        const dataset = await datasetRef(o.dataset);
        const collectionIds = await Promise.all(o.collection.map(async (c) => (await collectionRef(c)).id));
        let run = await api<EvalRunView>('POST', '/v1/evals', {
          datasetId: dataset.id,
          ...(o.version ? { datasetVersion: Number(o.version) } : {}),
          ...(o.name ? { name: o.name } : {}),
          ...(o.concurrency ? { concurrency: Number(o.concurrency) } : {}),
          config: {
            collectionIds,
            ...(o.model ? { model: o.model } : {}),
            ...(o.judgeModel ? { judgeModel: o.judgeModel } : {}),
            ...(o.prompt?.length ? { prompts: promptOption(o.prompt, fail) } : {}),
            ...(o.topK ? { topK: Number(o.topK) } : {}),
            ...(o.threshold ? { groundingThreshold: Number(o.threshold) } : {}),
            ...(o.rerank === false ? { rerank: false } : {}),
          },
        });
        console.log(`started eval run ${run.id} (${run.workflowId})`);
        if (!o.wait) return;
        while (run.status === 'running') {
          await sleep(1000);
          run = await api<EvalRunView>('GET', `/v1/evals/${run.id}`);
          if (process.stderr.isTTY && run.progress) {
            process.stderr.write(`\r${run.progress.completed + run.progress.failed} of ${run.itemCount ?? '?'} items`);
          }
        }
        if (process.stderr.isTTY) process.stderr.write('\n');
        console.log(show(run));
        if (run.status !== 'completed') process.exitCode = 1;
      },
    );

  evals
    .command('show <id>')
    .description('one eval run and its aggregate metrics')
    .action(async (id: string) => console.log(show(await api<EvalRunView>('GET', `/v1/evals/${id}`))));

  evals
    .command('items <id>')
    .description('per item: answer status and scores')
    .action(async (id: string) => {
      const { items } = await api<{ items: ItemView[] }>('GET', `/v1/evals/${id}/items?limit=500`);
      console.log(
        table(
          ['#', 'item', 'status', 'answer', 'recall@k', 'MRR', 'citations', 'facts', 'grounding', 'run'],
          items.map((i) => [
            String(i.index),
            i.itemId,
            i.status,
            i.answerStatus ?? (i.error ? `error: ${i.error.slice(0, 40)}` : '-'),
            num(i.metrics?.recallAtK),
            num(i.metrics?.mrr),
            num(i.metrics?.citationAccuracy),
            num(i.metrics?.factCoverage),
            num(i.metrics?.groundingScore),
            i.workflowId ?? '-',
          ]),
        ),
      );
    });

  evals
    .command('cancel <id>')
    .description('cancel a running eval run')
    .action(async (id: string) => {
      const run = await api<EvalRunView>('POST', `/v1/evals/${id}/cancel`);
      console.log(`cancel requested: ${run.name} (${run.status})`);
    });

  const experiments = program
    .command('experiments')
    .description("the tenant's experiments (eval runs compared)")
    .action(async () => {
      const { experiments: rows } = await api<{
        experiments: Array<{ id: string; name: string; evalRunIds: string[]; createdAt: string }>;
      }>('GET', '/v1/experiments');
      if (!rows.length) return console.log('no experiments');
      console.log(
        table(
          ['name', 'runs', 'created', 'id'],
          rows.map((e) => [e.name, String(e.evalRunIds.length), e.createdAt, e.id]),
        ),
      );
    });

  const showExperiment = (e: ExperimentView) => {
    const name = (id: string) => e.runs.find((r) => r.id === id)?.name ?? id;
    const out = [`${e.name}  (${e.id}); baseline: ${name(e.baselineRunId)}`];
    for (const c of e.comparisons) {
      out.push(
        '',
        `${name(c.evalRunId)} vs baseline (${c.pairs} items paired)`,
        table(
          ['metric', 'n', 'baseline', 'candidate', 'delta', '95% interval', 'wins', 'losses', 'ties'],
          c.metrics.map((m) => [
            m.metric,
            String(m.n),
            num(m.baseline),
            num(m.candidate),
            num(m.delta),
            m.ci ? `[${num(m.ci.low)}, ${num(m.ci.high)}]` : '-',
            String(m.wins),
            String(m.losses),
            String(m.ties),
          ]),
          [false, true, true, true, true, false, true, true, true],
        ),
        c.changed.length
          ? `changed verdicts: ${c.changed.map((i) => `${i.itemId} (${i.question.slice(0, 60)})`).join('; ')}`
          : 'no item changed verdict',
      );
    }
    return out.join('\n');
  };

  experiments
    .command('create <evalRunIds...>')
    .description('compare two or more eval runs (the first is the baseline)')
    .option('--baseline <id>', 'the baseline run')
    .option('--name <text>', 'a name')
    .action(async (ids: string[], o: { baseline?: string; name?: string }) => {
      const e = await api<ExperimentView>('POST', '/v1/experiments', {
        evalRunIds: ids,
        ...(o.baseline ? { baselineRunId: o.baseline } : {}),
        ...(o.name ? { name: o.name } : {}),
      });
      console.log(showExperiment(e));
    });

  experiments
    .command('show <id>')
    .description('each metric against the baseline')
    .action(async (id: string) =>
      console.log(showExperiment(await api<ExperimentView>('GET', `/v1/experiments/${id}`))),
    );
}
