import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { AppError, badRequest } from '../errors';
import { EXTENSION_FORMATS } from '../ingest/parse/detect';

/**
 * A server folder's real path (symbolic links resolved first), if it lies inside INGEST_FOLDER_ROOTS: the rule of
 * folder sources and of POST /v1/collections/:id/folder alike.
 */
export async function allowedFolder(path: string, roots: string[]): Promise<string> {
  if (!roots.length)
    throw new AppError({
      code: 'folder_ingest_disabled',
      message: 'Folder ingestion is off: set INGEST_FOLDER_ROOTS.',
      status: 403,
      category: 'auth',
    });
  const real = await realpath(path).catch(() => null);
  if (!real || !(await stat(real)).isDirectory())
    throw badRequest('folder_not_found', `${path} is not a folder on the server.`);
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => null);
    if (realRoot && (real === realRoot || real.startsWith(realRoot + sep))) return real;
  }
  throw new AppError({
    code: 'folder_not_allowed',
    message: `${path} is outside INGEST_FOLDER_ROOTS.`,
    status: 403,
    category: 'auth',
  });
}

/** The file types ingestion parses (lib/ingest/parse/detect.ts): a folder source takes these and leaves the rest. */
export const SYNCABLE_EXTENSIONS: ReadonlySet<string> = new Set(Object.keys(EXTENSION_FORMATS));

/** Files of ingestible types under `dir`, recursively (dot-files, dot-folders and symbolic links skipped), sorted. */
export async function listFolderFiles(dir: string, max: number): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.startsWith('.') || !SYNCABLE_EXTENSIONS.has(extname(e.name).toLowerCase())) continue;
    const path = join(e.parentPath, e.name);
    if (
      path
        .slice(dir.length)
        .split(sep)
        .some((part) => part.startsWith('.'))
    )
      continue;
    out.push(path);
    if (out.length > max)
      throw badRequest('folder_too_large', `More than ${max} files under ${dir}; sync a smaller folder.`);
  }
  return out.sort();
}
