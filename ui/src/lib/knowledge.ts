/**
 * The Knowledge pages' logic that needs no browser: walking dropped folders, planning uploads into requests and
 * mapping a request's byte progress onto its files, reading a list of URLs, and adding up ingest runs' progress.
 */

/** A file to upload and where it was picked: `docs/guide.md` for a file of a dropped folder, else its name. */
export interface PickedFile {
  file: File;
  path: string;
}

/** What `DataTransferItem.webkitGetAsEntry()` gives, as far as walking needs it (FileSystemEntry in the DOM). */
export interface FileEntryLike {
  isFile: true;
  isDirectory: false;
  name: string;
  fullPath: string;
  file(success: (file: File) => void, failure?: (error: unknown) => void): void;
}
export interface DirectoryEntryLike {
  isFile: false;
  isDirectory: true;
  name: string;
  fullPath: string;
  createReader(): {
    readEntries(success: (entries: EntryLike[]) => void, failure?: (error: unknown) => void): void;
  };
}
export type EntryLike = FileEntryLike | DirectoryEntryLike;

/** As the server's folder ingestion does: dot-files and anything inside a dot-folder are left out. */
export const isHiddenPath = (path: string) => path.split('/').some((part) => part.startsWith('.'));

/** The most files one drop or pick takes, as the server's folder ingestion (10,000). */
export const MAX_PICKED_FILES = 10_000;

export class TooManyFilesError extends Error {
  override readonly name = 'TooManyFilesError';
  constructor(readonly max: number) {
    super(`More than ${max} files: pick a smaller folder.`);
  }
}

const readFile = (entry: FileEntryLike) => new Promise<File>((resolve, reject) => entry.file(resolve, reject));

/** Every entry of a directory: a reader answers in pages (100 at a time in Chromium) until an empty one. */
async function readDirectory(entry: DirectoryEntryLike): Promise<EntryLike[]> {
  const reader = entry.createReader();
  const all: EntryLike[] = [];
  for (;;) {
    const page = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!page.length) return all;
    all.push(...page);
  }
}

/**
 * The files under dropped entries, folders walked recursively, in a stable order (by path); hidden files are left
 * out. Paths are relative to what was dropped: `docs/guide.md` for a dropped folder `docs`.
 */
export async function walkEntries(entries: EntryLike[], max = MAX_PICKED_FILES): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const visit = async (entry: EntryLike, path: string): Promise<void> => {
    if (isHiddenPath(path)) return;
    if (entry.isFile) {
      if (out.length >= max) throw new TooManyFilesError(max);
      out.push({ file: await readFile(entry), path });
      return;
    }
    const children = await readDirectory(entry);
    children.sort((a, b) => a.name.localeCompare(b.name));
    for (const child of children) await visit(child, `${path}/${child.name}`);
  };
  for (const entry of entries) await visit(entry, entry.name);
  return out;
}

/** Files of an `<input type=file>` (`webkitdirectory` ones carry their relative path), hidden ones left out. */
export function pickedFromList(files: Iterable<File>, max = MAX_PICKED_FILES): PickedFile[] {
  const out: PickedFile[] = [];
  for (const file of files) {
    const path = file.webkitRelativePath || file.name;
    if (isHiddenPath(path)) continue;
    if (out.length >= max) throw new TooManyFilesError(max);
    out.push({ file, path });
  }
  return out;
}

/**
 * Names sent more than once: a collection keeps one document per file name (an upload of a name replaces the
 * document of that name), so of `a/readme.md` and `b/readme.md` only the last one stays.
 */
export function duplicateNames(files: PickedFile[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const f of files) (seen.has(f.file.name) ? dup : seen).add(f.file.name);
  return [...dup].sort();
}

/**
 * Files grouped into upload requests, in order: a few per request, so a folder of 500 files is not 500 requests;
 * a file larger than `maxBytes` goes alone. (The requests of one upload share one ingest run.)
 */
export function planBatches(sizes: number[], limits = { maxFiles: 20, maxBytes: 8 * 1024 * 1024 }): number[][] {
  // The rule of lib/contracts/group-by-size.ts, which the console may import by type only (test/architecture.test.ts).
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  sizes.forEach((size, i) => {
    if (current.length && (current.length >= limits.maxFiles || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length) batches.push(current);
  return batches;
}

/**
 * How much of each file of a multipart request has been sent (0..1), from the request's `loaded` and `total`
 * bytes. The parts go in order, each a header then the file's bytes; the framing (what `total` has beyond the
 * files) is spread evenly over the parts, an error of a few dozen bytes per part at most.
 */
export function partProgress(sizes: number[], loaded: number, total: number): number[] {
  const content = sizes.reduce((a, b) => a + b, 0);
  const header = sizes.length ? Math.max(0, total - content) / sizes.length : 0;
  let start = 0;
  return sizes.map((size) => {
    const from = start + header;
    start = from + size;
    if (size === 0) return loaded >= from ? 1 : 0;
    return Math.min(1, Math.max(0, (loaded - from) / size));
  });
}

export type UploadState = 'queued' | 'uploading' | 'processing' | 'stored' | 'failed';

/** One file of an upload as the page shows it. */
export interface UploadItem {
  key: string;
  path: string;
  name: string;
  size: number;
  state: UploadState;
  /** Share of the file's bytes sent (0..1). */
  fraction: number;
  error: string | null;
  /** The one ingest run of its upload (a drop or a pick), once every file of it is sent. */
  workflowId: string | null;
}

/** Done, in bytes, over every file of an upload (failed ones count as settled). */
export function uploadTotals(items: UploadItem[]): { files: number; stored: number; failed: number; fraction: number } {
  const bytes = items.reduce((a, i) => a + i.size, 0);
  const sent = items.reduce((a, i) => a + (i.state === 'failed' ? i.size : i.fraction * i.size), 0);
  return {
    files: items.length,
    stored: items.filter((i) => i.state === 'stored').length,
    failed: items.filter((i) => i.state === 'failed').length,
    fraction: bytes ? sent / bytes : items.every((i) => i.state === 'stored' || i.state === 'failed') ? 1 : 0,
  };
}

/**
 * Which files of a refused request the error is about: the server names the file in a per-file refusal ("x.pdf is
 * larger than…"); otherwise it is about all of them.
 */
export function filesNamedIn(message: string, names: string[]): number[] {
  const named = names.flatMap((n, i) => (n && message.includes(n) ? [i] : []));
  return named.length ? named : names.map((_, i) => i);
}

export interface UrlList {
  urls: string[];
  /** The line of each URL (1-based), to point at the one the API refuses (`details.path` is `["urls", i]`). */
  lines: number[];
  /** Lines that are not an http(s) URL, with why; the API would refuse the whole list for one of them. */
  problems: Array<{ line: number; text: string; reason: string }>;
}

/**
 * A textarea of URLs, one a line: blank lines and `#` comments skipped, repeats dropped, each line checked. URLs
 * with credentials are passed on: the API's refusal of them says why, and the page shows it.
 */
export function parseUrlList(text: string): UrlList {
  const list: UrlList = { urls: [], lines: [], problems: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let url: URL;
    try {
      url = new URL(line);
    } catch {
      list.problems.push({ line: i + 1, text: line, reason: 'not a URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      list.problems.push({ line: i + 1, text: line, reason: 'only http and https URLs are fetched' });
    else if (!list.urls.includes(line)) {
      list.urls.push(line);
      list.lines.push(i + 1);
    }
  });
  return list;
}

/** The line of the URL an API error's `details.path` (`["urls", i]`) points at, if any. */
export function urlErrorLine(details: unknown, lines: number[]): number | null {
  // An AppError's details are `{ path }`; a validation failure's, a list of issues each with its path.
  const first: unknown = Array.isArray(details) ? details[0] : details;
  const path = (first as { path?: unknown } | undefined)?.path;
  if (!Array.isArray(path) || path[0] !== 'urls' || typeof path[1] !== 'number') return null;
  return lines[path[1]] ?? null;
}

/** An ingest run's progress, as `GET /v1/ingests/:workflowId` answers it (lib/contracts IngestProgress). */
export interface IngestRunProgress {
  total: number;
  done: number;
  skipped: number;
  failed: number;
  chunks: number;
  failures: Array<{ documentId: string; reason: string }>;
}

export interface IngestRunState {
  workflowId: string;
  status: string;
  progress: IngestRunProgress | null;
}

/** Several ingest runs as one bar: documents processed of all, failures, and whether any still runs. */
export function aggregateIngests(runs: IngestRunState[]) {
  const sum = (pick: (p: IngestRunProgress) => number) =>
    runs.reduce((a, r) => a + (r.progress ? pick(r.progress) : 0), 0);
  const total = sum((p) => p.total);
  const done = sum((p) => p.done);
  return {
    runs: runs.length,
    running: runs.some((r) => r.status === 'running'),
    total,
    done,
    skipped: sum((p) => p.skipped),
    failed: sum((p) => p.failed),
    chunks: sum((p) => p.chunks),
    fraction: total ? done / total : runs.length && runs.every((r) => r.status !== 'running') ? 1 : 0,
    failures: runs.flatMap((r) => r.progress?.failures ?? []),
    /** Runs that ended other than completed (failed, terminated, canceled, timed out). */
    ended: runs.filter((r) => r.status !== 'running' && r.status !== 'completed'),
  };
}

/** 1536 → "1.5 KB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** A heading path as one line: "Guide › Retries". */
export const headingLine = (path: string[]) => path.join(' › ');
