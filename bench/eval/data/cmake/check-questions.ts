/**
 * Checks bench/eval/data/cmake/questions.json against the CMake 3.25.1 documentation corpus:
 * schema, unique ids, gold pages exist, every `expected` string occurs (case-insensitive, whitespace-normalised) in the
 * parsed text of at least one gold page, split/style counts with the paraphrase share per half (>= 40%), and a warning
 * when a paraphrase question names its gold page's title (the variable / command / property ... name).
 *
 *   npx tsx bench/eval/data/cmake/check-questions.ts
 *
 * Exits non-zero on any error. The corpus folder comes from bench/lib/cmake-docs.ts (BENCH_CMAKE_DOCS_DIR or the cache).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from '../../../../lib/ingest/parse';
import { cmakeDocsDir } from '../../../lib/cmake-docs';

type Split = 'dev' | 'test';
type Style = 'keyword' | 'paraphrase';
interface Question {
  id: string;
  split: Split;
  style: Style;
  question: string;
  gold: string[];
  expected: string[];
  note: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, 'questions.json');
const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();

const errors: string[] = [];
const warnings: string[] = [];
const err = (id: string, msg: string) => errors.push(`${id}: ${msg}`);

function checkSchema(item: unknown, i: number): item is Question {
  if (!item || typeof item !== 'object' || Array.isArray(item)) {
    err(`#${i}`, 'not an object');
    return false;
  }
  const q = item as Record<string, unknown>;
  const id = typeof q.id === 'string' ? q.id : `#${i}`;
  const before = errors.length;
  const keys = ['id', 'split', 'style', 'question', 'gold', 'expected', 'note'];
  for (const k of Object.keys(q)) if (!keys.includes(k)) err(id, `unknown field ${k}`);
  if (typeof q.id !== 'string' || !/^c\d{3}$/.test(q.id)) err(id, 'id must look like c001');
  if (q.split !== 'dev' && q.split !== 'test') err(id, `split must be dev|test, got ${q.split}`);
  if (q.style !== 'keyword' && q.style !== 'paraphrase') err(id, `style must be keyword|paraphrase, got ${q.style}`);
  if (typeof q.question !== 'string' || q.question.trim().length < 10) err(id, 'question missing or too short');
  if (typeof q.note !== 'string' || !q.note.trim()) err(id, 'note missing');
  if (!Array.isArray(q.gold) || q.gold.length < 1 || !q.gold.every((g: unknown) => typeof g === 'string' && g))
    err(id, 'gold must be a non-empty array of page ids');
  else if (new Set(q.gold).size !== q.gold.length) err(id, 'duplicate gold page');
  if (
    !Array.isArray(q.expected) ||
    q.expected.length < 1 ||
    q.expected.length > 3 ||
    !q.expected.every((e: unknown) => typeof e === 'string' && e.trim())
  )
    err(id, 'expected must be 1-3 non-empty strings');
  return errors.length === before;
}

/** A page's title as a search token: `<LANG>_VISIBILITY_PRESET` -> `_VISIBILITY_PRESET`, `add_library` -> `add_library`. */
function titleTokens(title: string): string[] {
  const t = title.replace(/\(\d\)$/, '').trim();
  const parts = t
    .split(/<[^>]*>/)
    .map((p) => p.replace(/^[_-]+|[_-]+$/g, ''))
    .filter((p) => p.length >= 4);
  return [...new Set(parts)];
}

async function main() {
  const dir = cmakeDocsDir();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`cannot read ${file}: ${(e as Error).message}`);
    process.exit(1);
  }
  if (!Array.isArray(raw)) {
    console.error('questions.json must be a JSON array');
    process.exit(1);
  }

  const pageCache = new Map<string, { text: string; title: string }>();
  const page = async (id: string) => {
    let p = pageCache.get(id);
    if (!p) {
      const bytes = readFileSync(join(dir, id));
      const doc = await parseDocument({ bytes, filename: id, mimeType: 'text/html' });
      p = { text: norm(doc.sections.map((s) => s.text).join('\n')), title: doc.title ?? '' };
      pageCache.set(id, p);
    }
    return p;
  };

  const ids = new Set<string>();
  const questions = new Set<string>();
  const valid: Question[] = [];
  for (const [i, q] of raw.entries()) {
    if (!checkSchema(q, i)) continue;
    if (ids.has(q.id)) err(q.id, 'duplicate id');
    ids.add(q.id);
    const nq = norm(q.question);
    if (questions.has(nq)) err(q.id, 'duplicate question text');
    questions.add(nq);
    valid.push(q);

    const goldOk: string[] = [];
    for (const g of q.gold) {
      if (g.startsWith('release/') || g === 'genindex.html' || g === 'search.html')
        err(q.id, `gold ${g} is outside the corpus`);
      else if (!g.endsWith('.html') || g.includes('..') || !existsSync(join(dir, g)))
        err(q.id, `gold page ${g} not found`);
      else goldOk.push(g);
    }
    if (!goldOk.length) continue;
    const pages = await Promise.all(goldOk.map(page));
    for (const e of q.expected) {
      const ne = norm(e);
      if (!pages.some((p) => p.text.includes(ne))) err(q.id, `expected "${e}" not found in any gold page`);
    }
    if (q.style === 'paraphrase') {
      const lq = q.question.toLowerCase();
      for (const [k, p] of pages.entries()) {
        const g = goldOk[k] ?? '';
        // Manuals and guides are titled by tool or topic ("cmake(1)"), not by a term the question should avoid.
        if (/^(manual|guide)\//.test(g) || !g.includes('/')) continue;
        for (const tok of titleTokens(p.title || g.replace(/^.*\//, '').replace(/\.html$/, ''))) {
          if (lq.includes(tok.toLowerCase()))
            warnings.push(`${q.id}: paraphrase question contains "${tok}" (title of ${g})`);
        }
      }
    }
  }

  // Split / style balance.
  const count = (split: Split, style?: Style) =>
    valid.filter((q) => q.split === split && (!style || q.style === style)).length;
  const rows: string[] = [];
  for (const split of ['dev', 'test'] as const) {
    const n = count(split);
    const p = count(split, 'paraphrase');
    const share = n ? p / n : 0;
    rows.push(
      `  ${split.padEnd(4)}  ${String(n).padStart(3)} questions  keyword ${String(count(split, 'keyword')).padStart(3)}  paraphrase ${String(p).padStart(3)} (${(share * 100).toFixed(0)}%)`,
    );
    if (share < 0.4) errors.push(`${split}: paraphrase share ${(share * 100).toFixed(1)}% < 40%`);
  }
  const total = valid.length;
  const para = valid.filter((q) => q.style === 'paraphrase').length;
  if (raw.length < 120) errors.push(`only ${raw.length} questions; at least 120 wanted`);
  if (total && para / total < 0.45) errors.push(`paraphrase share overall ${((para / total) * 100).toFixed(1)}% < 45%`);

  const sections = new Map<string, number>();
  for (const q of valid) {
    const first = q.gold[0] ?? '';
    const s = first.includes('/') ? (first.split('/')[0] ?? first) : '(top)';
    sections.set(s, (sections.get(s) ?? 0) + 1);
  }

  console.log(
    `questions.json: ${raw.length} items, ${para} paraphrase (${total ? ((para / total) * 100).toFixed(0) : 0}%), ${pageCache.size} gold pages parsed`,
  );
  for (const r of rows) console.log(r);
  console.log(
    `  sections (first gold page): ${[...sections]
      .sort((a, b) => b[1] - a[1])
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}`,
  );
  for (const w of warnings) console.log(`warning ${w}`);
  for (const e of errors) console.log(`ERROR ${e}`);
  console.log(errors.length ? `${errors.length} error(s)` : 'ok');
  process.exit(errors.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
