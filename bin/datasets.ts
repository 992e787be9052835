/**
 * `npm run cli -- datasets ...`: the tenant's eval datasets through /v1/datasets.
 *   datasets [list]                                          every dataset: latest version, items, id
 *   datasets create <name> --file F.jsonl|F.csv [--description text] [--note text]
 *   datasets import <name> --file F [--append] [--note text]     a new version from the file (replace, or merge by id)
 *   datasets export <name> [--version N] [--format jsonl|csv] [--out F]   a version as a file (stdout without --out)
 *   datasets from-answers <name> [--answer id]... [--status answered] [--collection name] [--since ISO] [--until ISO]
 *             [--limit N] [--note text]          past answers as items: a new dataset, or the next version of <name>
 *   datasets show <name> [--version N]                       the dataset, its versions and the first items
 *   datasets delete <name>
 * A dataset is named by its name or id.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { DatasetItem } from '../lib/contracts/evals';
import { parseDatasetFile, serializeDataset, type DatasetFormat } from '../lib/evals/dataset-format';
import { table } from './usage';

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

interface DatasetView {
  id: string;
  name: string;
  description: string;
  latestVersion: number;
  itemCount: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}
interface DatasetDetail extends DatasetView {
  versions: Array<{ version: number; itemCount: number; note: string; createdBy: string; createdAt: string }>;
}
type DatasetWritten = DatasetDetail & { version: number };
interface ItemsPage {
  datasetId: string;
  name: string;
  version: number;
  itemCount: number;
  items: DatasetItem[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const PAGE = 1000;

export function registerDatasetsCommand(program: Command, api: Api, fail: (message: string) => Error): void {
  const find = async (ref: string): Promise<DatasetView | undefined> => {
    const { datasets } = await api<{ datasets: DatasetView[] }>('GET', '/v1/datasets');
    return datasets.find((d) => d.id === ref || d.name === ref);
  };
  const byIdOrName = async (ref: string): Promise<DatasetView> => {
    const found = await find(ref);
    if (!found) throw fail(`No dataset "${ref}" (list them: npm run cli -- datasets).`);
    return found;
  };
  const formatOf = (file: string): DatasetFormat => {
    if (/\.csv$/i.test(file)) return 'csv';
    if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
    throw fail(`${file}: the file name ends in .jsonl, .ndjson or .csv (that says its format).`);
  };
  const written = (w: DatasetWritten) =>
    `${w.name}: version ${w.version}, ${w.versions.find((v) => v.version === w.version)?.itemCount ?? w.itemCount} items  (${w.id})`;
  const describe = (d: DatasetDetail) =>
    [
      `${d.name}  (${d.id})`,
      d.description && `  ${d.description}`,
      `  latest:   version ${d.latestVersion}, ${d.itemCount} items`,
      `  created:  ${d.createdAt} by ${d.createdBy}`,
      table(
        ['version', 'items', 'created', 'by', 'note'],
        d.versions.map((v) => [String(v.version), String(v.itemCount), v.createdAt, v.createdBy, v.note]),
        [true, true],
      ),
    ]
      .filter(Boolean)
      .join('\n');

  const list = async () => {
    const { datasets: rows } = await api<{ datasets: DatasetView[] }>('GET', '/v1/datasets');
    if (!rows.length) return console.log('no datasets');
    console.log(
      table(
        ['name', 'version', 'items', 'updated', 'id'],
        rows.map((d) => [d.name, String(d.latestVersion), String(d.itemCount), d.updatedAt, d.id]),
        [false, true, true],
      ),
    );
  };

  const datasets = program.command('datasets').description("the tenant's eval datasets").action(list);
  datasets.command('list').action(list);

  datasets
    .command('create <name>')
    .description('a new dataset, version 1 from a JSON lines or CSV file')
    .requiredOption('--file <path>', 'the items (.jsonl or .csv)')
    .option('--description <text>', 'what it is for')
    .option('--note <text>', 'a note on version 1')
    .action(async (name: string, o: { file: string; description?: string; note?: string }) => {
      // Read here so a bad line is reported before anything is sent, with the same messages the API gives.
      const items = parseDatasetFile(await readFile(o.file, 'utf8'), formatOf(o.file));
      const made = await api<DatasetWritten>('POST', '/v1/datasets', {
        name,
        items,
        ...(o.description ? { description: o.description } : {}),
        ...(o.note ? { note: o.note } : {}),
      });
      console.log(written(made));
    });

  datasets
    .command('import <name>')
    .description('a new version from a file: its items replace the latest version’s, or with --append are merged by id')
    .requiredOption('--file <path>', 'the items (.jsonl or .csv)')
    .option('--append', 'keep the items the file does not name')
    .option('--note <text>', 'a note on the version')
    .action(async (ref: string, o: { file: string; append?: boolean; note?: string }) => {
      const d = await byIdOrName(ref);
      const made = await api<DatasetWritten>('POST', `/v1/datasets/${d.id}/import`, {
        format: formatOf(o.file),
        content: await readFile(o.file, 'utf8'),
        mode: o.append ? 'append' : 'replace',
        ...(o.note ? { note: o.note } : {}),
      });
      console.log(written(made));
    });

  datasets
    .command('export <name>')
    .description('a version (default: the latest) as JSON lines or CSV')
    .option('--version <n>', 'the version')
    .option('--format <format>', 'jsonl (default) or csv')
    .option('--out <path>', 'write to this file (default: stdout)')
    .action(async (ref: string, o: { version?: string; format?: string; out?: string }) => {
      const format = (o.format ?? (o.out && /\.csv$/i.test(o.out) ? 'csv' : 'jsonl')) as DatasetFormat;
      if (format !== 'jsonl' && format !== 'csv') throw fail('--format is jsonl or csv.');
      if (o.version !== undefined && !/^[1-9]\d*$/.test(o.version)) throw fail('--version is a version number.');
      const d = await byIdOrName(ref);
      // Page through the items and write them as the export route does (same serializer), so the CLI's file and the
      // API's are the same bytes.
      const items: DatasetItem[] = [];
      let version = o.version;
      for (let offset = 0; ; offset += PAGE) {
        const page = await api<ItemsPage>(
          'GET',
          `/v1/datasets/${d.id}/items?offset=${offset}&limit=${PAGE}${version ? `&version=${version}` : ''}`,
        );
        version = String(page.version); // later pages read the version the first one did
        items.push(...page.items);
        if (items.length >= page.itemCount || page.items.length < PAGE) break;
      }
      const text = serializeDataset(items, format);
      if (!o.out) return void process.stdout.write(text);
      await writeFile(o.out, text);
      console.log(`wrote ${items.length} items of ${d.name} version ${version} to ${o.out}`);
    });

  datasets
    .command('from-answers <name>')
    .description('past answers as test cases: a new dataset named <name>, or the next version of it')
    .option('--answer <id>', 'an answer id (repeatable)', collect)
    .option('--status <status>', 'answered, abstained, rejected, failed or pending_review')
    .option('--collection <name>', 'answers that cited this collection (name or id)')
    .option('--since <iso>', 'asked at or after')
    .option('--until <iso>', 'asked before')
    .option('--freshness <freshness>', 'current, stale or unsupported_now')
    .option('--limit <n>', 'at most this many (newest first; default 100, at most 1000)')
    .option('--note <text>', 'a note on the version')
    .action(
      async (
        name: string,
        o: {
          answer?: string[];
          status?: string;
          collection?: string;
          since?: string;
          until?: string;
          freshness?: string;
          limit?: string;
          note?: string;
        },
      ) => {
        let collectionId: string | undefined;
        if (o.collection) {
          const { collections } = await api<{ collections: Array<{ id: string; name: string }> }>(
            'GET',
            '/v1/collections',
          );
          collectionId = collections.find((c) => c.name === o.collection || c.id === o.collection)?.id;
          if (!collectionId) throw fail(`No collection named "${o.collection}".`);
        }
        const filter = {
          ...(o.status ? { status: o.status } : {}),
          ...(collectionId ? { collectionId } : {}),
          ...(o.since ? { since: o.since } : {}),
          ...(o.until ? { until: o.until } : {}),
          ...(o.freshness ? { freshness: o.freshness } : {}),
          ...(o.limit ? { limit: Number(o.limit) } : {}),
        };
        if (o.answer?.length && Object.keys(filter).length)
          throw fail('Give --answer ids or filter options (--status, --since, ...), not both.');
        const existing = await find(name);
        const made = await api<DatasetWritten>('POST', '/v1/datasets/from-answers', {
          ...(existing ? { datasetId: existing.id } : { name }),
          ...(o.answer?.length ? { answerIds: o.answer } : { filter }),
          ...(o.note ? { note: o.note } : {}),
        });
        console.log(written(made));
      },
    );

  datasets
    .command('show <name>')
    .description('a dataset, its versions, and the first items of a version')
    .option('--version <n>', 'the version whose items to show (default: the latest)')
    .action(async (ref: string, o: { version?: string }) => {
      const d = await api<DatasetDetail>('GET', `/v1/datasets/${(await byIdOrName(ref)).id}`);
      const page = await api<ItemsPage>(
        'GET',
        `/v1/datasets/${d.id}/items?limit=20${o.version ? `&version=${encodeURIComponent(o.version)}` : ''}`,
      );
      console.log(describe(d));
      console.log(`\nversion ${page.version}, first ${page.items.length} of ${page.itemCount} items:`);
      if (page.items.length)
        console.log(
          table(
            ['id', 'question', 'expected answer', 'gold sources'],
            page.items.map((i) => [
              i.id,
              i.question.replace(/\s+/g, ' ').slice(0, 60),
              (i.expectedAnswer ?? '-').replace(/\s+/g, ' ').slice(0, 40),
              (i.goldSources ?? []).join(', ').slice(0, 40) || '-',
            ]),
          ),
        );
    });

  datasets.command('delete <name>').action(async (ref: string) => {
    const d = await byIdOrName(ref);
    await api('DELETE', `/v1/datasets/${d.id}`);
    console.log(`deleted ${d.name} (eval runs keep their results)`);
  });
}
