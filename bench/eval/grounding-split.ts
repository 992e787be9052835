/**
 * The offline grounding checker on a fixed DEV/TEST split of bench/eval/data/grounding.json, so that changes to the
 * checker can be made by looking at DEV only and judged on TEST, which was not looked at.
 *
 *   npx tsx bench/eval/grounding-split.ts               # per-kind accuracy and balanced accuracy, DEV and TEST
 *   npx tsx bench/eval/grounding-split.ts --dev-failures # also DEV pairs the checker gets wrong, with its reasons
 *
 * DEV = pairs at even positions (0, 2, 4, ...), TEST = odd positions. Semantic: `checkAnswer(answer, [{ id: 'ctx',
 * text: context }], { encoder })` with the local MiniLM encoder (the lexical fallback when it cannot be loaded, said
 * in the header line); lexical: `checkAnswerDeterministic`. Predicted supported iff there are claims and every one is
 * supported (as bench/eval/run.ts).
 * Baseline: the share of the answer's lower-cased words [\p{L}\p{N}]+ present in the context, supported iff >= a
 * threshold fitted on DEV only (best balanced accuracy) and then applied to both halves. No database needed.
 * TEST failures are never printed: they must not guide the rules.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfig } from '../../lib/config';
import { LocalProvider } from '../../lib/llm/providers/local';
import { checkAnswer, checkAnswerDeterministic } from '../../lib/rag/grounding';

const PairSchema = z.object({
  id: z.string(),
  context: z.string(),
  answer: z.string(),
  label: z.enum(['supported', 'unsupported']),
  kind: z.string(),
});
type Pair = z.infer<typeof PairSchema>;

const file = join(dirname(fileURLToPath(import.meta.url)), 'data', 'grounding.json');
const pairs = z.array(PairSchema).parse(JSON.parse(readFileSync(file, 'utf8')));
const dev = pairs.filter((_, i) => i % 2 === 0);
const test = pairs.filter((_, i) => i % 2 === 1);

const f = (x: number): string => x.toFixed(3);

interface Scores {
  balancedAccuracy: number;
  supportedRecall: number;
  unsupportedRecall: number;
  perKind: Map<string, { n: number; accuracy: number }>;
}

function score(items: Pair[], predicted: boolean[]): Scores {
  const right = (i: number): boolean => predicted[i] === (items[i]!.label === 'supported');
  const recall = (label: Pair['label']): number => {
    const idx = items.map((p, i) => (p.label === label ? i : -1)).filter((i) => i >= 0);
    return idx.length ? idx.filter(right).length / idx.length : 0;
  };
  const perKind = new Map<string, { n: number; accuracy: number }>();
  for (const kind of [...new Set(pairs.map((p) => p.kind))].sort()) {
    const idx = items.map((p, i) => (p.kind === kind ? i : -1)).filter((i) => i >= 0);
    perKind.set(kind, { n: idx.length, accuracy: idx.length ? idx.filter(right).length / idx.length : NaN });
  }
  const supportedRecall = recall('supported');
  const unsupportedRecall = recall('unsupported');
  return { balancedAccuracy: (supportedRecall + unsupportedRecall) / 2, supportedRecall, unsupportedRecall, perKind };
}

const words = (s: string): string[] =>
  s
    .normalize('NFKC')
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu) ?? [];
function wordOverlap(answer: string, context: string): number {
  const inContext = new Set(words(context));
  const answerWords = words(answer);
  return answerWords.length ? answerWords.filter((w) => inContext.has(w)).length / answerWords.length : 1;
}

function fitThreshold(items: Pair[], values: number[]): number {
  let best = { threshold: 0, balancedAccuracy: -1 };
  for (const t of [...new Set(values)].sort((a, b) => a - b)) {
    const { balancedAccuracy } = score(
      items,
      values.map((v) => v >= t),
    );
    if (balancedAccuracy > best.balancedAccuracy) best = { threshold: t, balancedAccuracy };
  }
  return best.threshold;
}

const encoder = new LocalProvider({ models: loadConfig().llm.localModels }).encoder;
const allSupported = (claims: { verdict: string }[]): boolean =>
  claims.length > 0 && claims.every((c) => c.verdict === 'supported');
const evidenceOf = (p: Pair) => [{ id: 'ctx', text: p.context }];
const methods = new Set<string>();
async function semantic(items: Pair[]): Promise<boolean[]> {
  const out: boolean[] = [];
  for (const p of items) {
    const res = await checkAnswer(p.answer, evidenceOf(p), { encoder });
    methods.add(res.method);
    out.push(allSupported(res.claims));
  }
  return out;
}
const lexical = (items: Pair[]): boolean[] =>
  items.map((p) => allSupported(checkAnswerDeterministic(p.answer, evidenceOf(p)).claims));

const started = performance.now();
const oursDev = score(dev, await semantic(dev));
const oursTest = score(test, await semantic(test));
const checkMs = performance.now() - started;
const lexDev = score(dev, lexical(dev));
const lexTest = score(test, lexical(test));
const threshold = fitThreshold(
  dev,
  dev.map((p) => wordOverlap(p.answer, p.context)),
);
const overlap = (items: Pair[]): boolean[] => items.map((p) => wordOverlap(p.answer, p.context) >= threshold);
const baseDev = score(dev, overlap(dev));
const baseTest = score(test, overlap(test));

const header = [
  'kind',
  'label',
  'n dev',
  'semantic dev',
  'lexical dev',
  'overlap dev',
  'n test',
  'semantic test',
  'lexical test',
  'overlap test',
];
const rows: string[][] = [header];
for (const [kind, d] of oursDev.perKind) {
  const t = oursTest.perKind.get(kind)!;
  rows.push([
    kind,
    pairs.find((p) => p.kind === kind)!.label,
    String(d.n),
    f(d.accuracy),
    f(lexDev.perKind.get(kind)!.accuracy),
    f(baseDev.perKind.get(kind)!.accuracy),
    String(t.n),
    f(t.accuracy),
    f(lexTest.perKind.get(kind)!.accuracy),
    f(baseTest.perKind.get(kind)!.accuracy),
  ]);
}
const both = (s: Scores): string => `${f(s.supportedRecall)} / ${f(s.unsupportedRecall)}`;
rows.push([
  'balanced accuracy',
  '',
  String(dev.length),
  f(oursDev.balancedAccuracy),
  f(lexDev.balancedAccuracy),
  f(baseDev.balancedAccuracy),
  String(test.length),
  f(oursTest.balancedAccuracy),
  f(lexTest.balancedAccuracy),
  f(baseTest.balancedAccuracy),
]);
rows.push([
  'recall supported / unsupported',
  '',
  '',
  both(oursDev),
  both(lexDev),
  both(baseDev),
  '',
  both(oursTest),
  both(lexTest),
  both(baseTest),
]);
const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
const line = (r: string[]): string =>
  r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
console.log(`grounding split: DEV ${dev.length} pairs (even positions), TEST ${test.length} pairs (odd positions)`);
console.log(
  `word overlap threshold fitted on DEV: ${threshold.toFixed(3)}; semantic checker method: ${[...methods].join(', ')}`,
);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows.slice(1)) console.log(line(r));
console.log(`semantic checker time: ${checkMs.toFixed(0)} ms for ${pairs.length} pairs`);

if (process.argv.includes('--dev-failures')) {
  console.log('\nDEV failures (semantic):');
  for (const p of dev) {
    const res = await checkAnswer(p.answer, evidenceOf(p), { encoder });
    const predicted = allSupported(res.claims);
    if (predicted === (p.label === 'supported')) continue;
    console.log(`\n[${p.id}] ${p.kind} (${p.label}), predicted ${predicted ? 'supported' : 'unsupported'}`);
    console.log(`  context: ${p.context}`);
    console.log(`  answer:  ${p.answer}`);
    for (const c of res.claims)
      console.log(
        `  - ${c.verdict}: ${c.claim}\n      ${c.reason}${c.evidence ? `\n      span: ${c.evidence.span}` : ''}`,
      );
  }
}
process.exit(0);
