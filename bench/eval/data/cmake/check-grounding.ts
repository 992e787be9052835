/**
 * Checks bench/eval/data/cmake/grounding.json against the CMake 3.25.1 documentation corpus.
 *
 *   npx tsx bench/eval/data/cmake/check-grounding.ts [path/to/grounding.json]
 *
 * Verifies the schema, unique ids, unique (question, answer) pairs, that labels match kinds, that every `source`
 * page exists in the corpus and that every `context` occurs in the page text as the ingest parser sees it
 * (parseDocument, sections joined; compared case-insensitively with whitespace normalised). Prints counts per
 * split × kind and the number of distinct pages. Exits non-zero on any error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from '../../../../lib/ingest/parse';

const CORPUS_ROOT =
  process.env.CMAKE_DOC_ROOT ?? '/root/.cache/beyondcloud/corpora/cmake-doc-3.25.1-1/usr/share/doc/cmake-data/html';

const KIND_LABEL: Record<string, 'supported' | 'unsupported'> = {
  supported: 'supported',
  'paraphrased-support': 'supported',
  'wrong-number': 'unsupported',
  negation: 'unsupported',
  'swapped-name': 'unsupported',
  'unmentioned-claim': 'unsupported',
  'off-topic': 'unsupported',
};
const KINDS = Object.keys(KIND_LABEL);
const SPLITS = ['dev', 'test'] as const;
const FIELDS = ['id', 'split', 'source', 'question', 'context', 'answer', 'label', 'kind'];

interface Item {
  id: string;
  split: 'dev' | 'test';
  source: string;
  question: string;
  context: string;
  answer: string;
  label: 'supported' | 'unsupported';
  kind: string;
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();

async function pageText(source: string, cache: Map<string, string>): Promise<string> {
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  const bytes = readFileSync(join(CORPUS_ROOT, source));
  const doc = await parseDocument({ bytes, filename: source, mimeType: 'text/html' });
  const text = norm(doc.sections.map((s) => s.text).join('\n\n'));
  cache.set(source, text);
  return text;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = process.argv[2] ?? join(here, 'grounding.json');
  const errors: string[] = [];
  const err = (id: string, msg: string): void => {
    errors.push(`${id}: ${msg}`);
  };

  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${file}: top level must be a JSON array`);
  if (!existsSync(CORPUS_ROOT)) throw new Error(`corpus not found at ${CORPUS_ROOT} (set CMAKE_DOC_ROOT)`);

  const ids = new Set<string>();
  const pairs = new Set<string>();
  const pages = new Set<string>();
  const cache = new Map<string, string>();
  const counts = new Map<string, number>();

  for (const [i, value] of raw.entries()) {
    const where = `item #${i + 1}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      err(where, 'not an object');
      continue;
    }
    const obj = value as Record<string, unknown>;
    const id = typeof obj.id === 'string' ? obj.id : where;
    for (const k of Object.keys(obj)) if (!FIELDS.includes(k)) err(id, `unexpected field "${k}"`);
    let ok = true;
    for (const k of FIELDS) {
      if (typeof obj[k] !== 'string' || (obj[k] as string).trim() === '') {
        err(id, `field "${k}" must be a non-empty string`);
        ok = false;
      }
    }
    if (!ok) continue;
    const item = obj as unknown as Item;

    if (!/^g\d{3,}$/.test(item.id)) err(id, `id "${item.id}" does not match g###`);
    if (ids.has(item.id)) err(id, 'duplicate id');
    ids.add(item.id);

    if (!SPLITS.includes(item.split)) err(id, `split "${item.split}" is not dev|test`);
    if (!(item.kind in KIND_LABEL)) err(id, `unknown kind "${item.kind}"`);
    else if (KIND_LABEL[item.kind] !== item.label)
      err(id, `label "${item.label}" does not match kind "${item.kind}" (expected ${KIND_LABEL[item.kind]})`);

    const pair = `${norm(item.question)}\u0000${norm(item.answer)}`;
    if (pairs.has(pair)) err(id, 'duplicate (question, answer) pair');
    pairs.add(pair);

    if (!/^[\w ./+-]+\.html$/.test(item.source) || item.source.includes('..')) {
      err(id, `bad source "${item.source}"`);
    } else if (!existsSync(join(CORPUS_ROOT, item.source))) {
      err(id, `source page not in corpus: ${item.source}`);
    } else {
      pages.add(item.source);
      try {
        const text = await pageText(item.source, cache);
        if (!text.includes(norm(item.context))) err(id, `context not found verbatim in ${item.source}`);
      } catch (e) {
        err(id, `cannot parse ${item.source}: ${String(e)}`);
      }
    }

    const key = `${item.split}\u0000${item.kind}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  // Report counts per split × kind.
  const pad = (s: string | number, n: number): string => String(s).padStart(n);
  console.log(`${'kind'.padEnd(22)}${pad('dev', 6)}${pad('test', 6)}${pad('total', 7)}`);
  let dev = 0;
  let test = 0;
  for (const kind of KINDS) {
    const d = counts.get(`dev\u0000${kind}`) ?? 0;
    const t = counts.get(`test\u0000${kind}`) ?? 0;
    dev += d;
    test += t;
    console.log(`${kind.padEnd(22)}${pad(d, 6)}${pad(t, 6)}${pad(d + t, 7)}`);
    if (Math.abs(d - t) > 1) err(kind, `dev/test imbalance (${d} vs ${t})`);
  }
  console.log(`${'total'.padEnd(22)}${pad(dev, 6)}${pad(test, 6)}${pad(dev + test, 7)}`);
  const supported = raw.filter((x) => (x as Item).label === 'supported').length;
  console.log(`items: ${raw.length} (supported ${supported}, unsupported ${raw.length - supported})`);
  console.log(`distinct pages: ${pages.size}`);

  if (errors.length > 0) {
    for (const e of errors) console.error(`ERROR ${e}`);
    console.error(`${errors.length} error(s)`);
    process.exit(1);
  }
  console.log('OK');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
