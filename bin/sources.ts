/**
 * `npm run cli -- sources ...`: a collection's sources through /v1/collections/:id/sources.
 *   sources list --collection <name>                              list, with each source's last sync
 *   sources add --collection <name> (--url <u>... | --sitemap <u> | --folder <path>) [--name n]
 *   sources sync <id> --collection <name>                         sync now and wait for the report
 *   sources delete <id> --collection <name>                       detach it (its documents go too)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { table } from './usage';

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

interface SourceView {
  id: string;
  kind: string;
  name: string;
  config: { urls?: string[]; url?: string; path?: string };
  documents: number;
  lastSync: null | {
    workflowId: string;
    status: string;
    finishedAt: string | null;
    added: number;
    changed: number;
    unchanged: number;
    removed: number;
    failed: number;
    failures: Array<{ location: string; reason: string }>;
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const what = (s: SourceView) =>
  s.config.urls ? `${s.config.urls.length} URLs` : (s.config.url ?? s.config.path ?? '');
const counts = (l: NonNullable<SourceView['lastSync']>) =>
  `${l.added} added, ${l.changed} changed, ${l.unchanged} unchanged, ${l.removed} removed, ${l.failed} failed`;

export function registerSourcesCommand(program: Command, api: Api, fail: (message: string) => Error): void {
  const collectionId = async (name: string): Promise<string> => {
    const { collections } = await api<{ collections: Array<{ id: string; name: string }> }>('GET', '/v1/collections');
    const c = collections.find((x) => x.name === name || x.id === name);
    if (!c) throw fail(`No collection named "${name}".`);
    return c.id;
  };

  const sources = program
    .command('sources')
    .description("a collection's sources (URL lists, sitemaps, server folders): list, add, sync, delete");

  sources
    .command('list')
    .description("a collection's sources with their last sync")
    .requiredOption('--collection <name>', 'the collection')
    .action(async (o: { collection: string }) => {
      const id = await collectionId(o.collection);
      const { sources: rows } = await api<{ sources: SourceView[] }>('GET', `/v1/collections/${id}/sources`);
      if (!rows.length) return console.log('no sources');
      console.log(
        table(
          ['name', 'kind', 'reads', 'documents', 'last sync', 'id'],
          rows.map((s) => [
            s.name,
            s.kind,
            what(s),
            String(s.documents),
            s.lastSync ? `${s.lastSync.status}: ${counts(s.lastSync)}` : 'never',
            s.id,
          ]),
        ),
      );
    });

  sources
    .command('add')
    .description('attach a source: URLs, a sitemap, or a server folder (admins)')
    .requiredOption('--collection <name>', 'the collection')
    .option('--url <url>', 'a URL (repeatable)', collect)
    .option('--sitemap <url>', 'a sitemap (or sitemap index) URL')
    .option('--folder <path>', 'a server folder inside INGEST_FOLDER_ROOTS')
    .option('--name <name>', 'a name for it')
    .action(async (o: { collection: string; url?: string[]; sitemap?: string; folder?: string; name?: string }) => {
      const kinds = [o.url?.length, o.sitemap, o.folder].filter(Boolean).length;
      if (kinds !== 1) throw fail('Give one of --url (repeatable), --sitemap or --folder.');
      const body = o.url?.length
        ? { kind: 'urls', urls: o.url }
        : o.sitemap
          ? { kind: 'sitemap', url: o.sitemap }
          : { kind: 'folder', path: o.folder };
      const id = await collectionId(o.collection);
      const s = await api<SourceView>('POST', `/v1/collections/${id}/sources`, {
        ...body,
        ...(o.name ? { name: o.name } : {}),
      });
      console.log(`added ${s.kind} source ${s.name} (${s.id}): ${what(s)}`);
    });

  sources
    .command('sync <id>')
    .description('sync a source now and wait for its report')
    .requiredOption('--collection <name>', 'the collection')
    .action(async (sourceId: string, o: { collection: string }) => {
      const id = await collectionId(o.collection);
      const path = `/v1/collections/${id}/sources/${encodeURIComponent(sourceId)}`;
      const { workflowId } = await api<{ workflowId: string }>('POST', `${path}/sync`, {});
      console.log(`syncing (run ${workflowId})`);
      for (;;) {
        const s = await api<SourceView>('GET', path);
        if (s.lastSync?.workflowId === workflowId && s.lastSync.status !== 'running') {
          console.log(`${s.lastSync.status}: ${counts(s.lastSync)}`);
          for (const f of s.lastSync.failures) console.log(`  failed: ${f.location}: ${f.reason}`);
          if (s.lastSync.status !== 'completed') throw fail(`The sync ended ${s.lastSync.status}.`);
          return;
        }
        await sleep(500);
      }
    });

  sources
    .command('delete <id>')
    .description('detach a source; its documents are deleted with it')
    .requiredOption('--collection <name>', 'the collection')
    .action(async (sourceId: string, o: { collection: string }) => {
      const id = await collectionId(o.collection);
      await api('DELETE', `/v1/collections/${id}/sources/${encodeURIComponent(sourceId)}`);
      console.log(`deleted source ${sourceId}`);
    });
}
