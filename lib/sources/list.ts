import type { Config } from '../config';
import type { Source } from '../db/entities';
import { allowedFolder, listFolderFiles } from './folder';
import { listSitemap } from './sitemap';

/** Locations one source lists at most. */
export const MAX_SOURCE_LOCATIONS = 10_000;

/**
 * The locations a source has now: its URLs as given, a sitemap's page URLs, or the ingestible files under a folder
 * (whose path is checked against INGEST_FOLDER_ROOTS again: the roots may have changed since it was attached).
 */
export async function listSource(
  source: Pick<Source, 'kind' | 'config'>,
  config: Pick<Config, 'ingest'>,
  signal?: AbortSignal,
): Promise<string[]> {
  const c = source.config as { urls?: string[]; url?: string; path?: string };
  switch (source.kind) {
    case 'urls':
      return [...new Set(c.urls ?? [])];
    case 'sitemap': {
      const { fetch } = config.ingest;
      return listSitemap(
        c.url!,
        { maxBytes: fetch.maxBytes, timeoutMs: fetch.timeoutMs, allowHosts: fetch.allowHosts, signal },
        MAX_SOURCE_LOCATIONS,
      );
    }
    case 'folder':
      return listFolderFiles(await allowedFolder(c.path!, config.ingest.folderRoots), MAX_SOURCE_LOCATIONS);
  }
}
