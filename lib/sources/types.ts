import type { SyncProgress } from '../contracts';

/** What a source is: a list of URLs, a sitemap (nested sitemap indexes too), or a server folder (admins). */
export const SOURCE_KINDS = ['urls', 'sitemap', 'folder'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export type SourceConfig = { urls: string[] } | { url: string } | { path: string };

/** A source's config by kind. */
export interface SourceConfigOf {
  urls: { urls: string[] };
  sitemap: { url: string };
  folder: { path: string };
}

/**
 * The last sync of a source, as the API shows it (`lastSync`). `planned` and `updatedAt` are the workflow's own:
 * the listing was applied (removals counted once), and when the running sync last wrote (a lease: a `running`
 * record nobody has written for a while is not holding the source any more).
 */
export interface SourceSyncRecord extends SyncProgress {
  workflowId: string;
  status: 'running' | 'completed' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  updatedAt?: string;
  planned?: boolean;
  reason?: string;
  /** The documents this sync's listing removed (capped), so a retried plan still names them. */
  removedDocumentIds?: string[];
}

/** A location of a source: a URL, or a file's absolute path. */
export type SourceLocation = string;

export const emptySyncProgress = (): SyncProgress => ({
  added: 0,
  changed: 0,
  unchanged: 0,
  removed: 0,
  failed: 0,
  failures: [],
});

/** How many failures a sync keeps with their reasons (the counts stay exact). */
export const MAX_SYNC_FAILURES = 50;
