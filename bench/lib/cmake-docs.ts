/**
 * The CMake 3.25.1 HTML documentation (Debian's `cmake-doc` 3.25.1-1, bookworm main): 1,936 pages written by
 * Kitware and the CMake contributors, nobody here. bench/eval's held-out style set is built on it.
 *
 * Fetched once into a cache, like the Temporal CLI: `apt-get download` of the pinned version (else a plain GET of the
 * same file from deb.debian.org), checked against its pinned sha256, unpacked with `dpkg-deb -x` into a staging folder
 * and renamed into place, so a crash never leaves half a corpus. No root needed. BENCH_CMAKE_DOCS_DIR points at an
 * unpacked copy instead (the folder holding `variable/`, `command/`, ...).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CMAKE_DOC = {
  package: 'cmake-doc',
  version: '3.25.1-1',
  file: 'cmake-doc_3.25.1-1_all.deb',
  url: 'http://deb.debian.org/debian/pool/main/c/cmake/cmake-doc_3.25.1-1_all.deb',
  sha256: '6e805a758ffed87cc7ea234cf0a7a1bb8ae78b93d8b5783e7fb989a6320f8133',
  /** Where the HTML lives inside the package. */
  htmlDir: 'usr/share/doc/cmake-data/html',
} as const;

const cacheRoot = (env: NodeJS.ProcessEnv) =>
  join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'beyondcloud', 'corpora');

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Pages of the corpus, relative to its folder (`variable/CMAKE_BUILD_TYPE.html`), sorted; indexes and search left out. */
export function cmakePages(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!e.name.startsWith('_')) walk(path);
      } else if (e.name.endsWith('.html') && !['genindex.html', 'search.html'].includes(path)) out.push(path);
    }
  };
  walk('');
  return out.sort();
}

/** The unpacked HTML folder: BENCH_CMAKE_DOCS_DIR, else the cache, else fetched into the cache. */
export function cmakeDocsDir(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = console.error,
): string {
  if (env.BENCH_CMAKE_DOCS_DIR) {
    if (!existsSync(join(env.BENCH_CMAKE_DOCS_DIR, 'variable')))
      throw new Error(`BENCH_CMAKE_DOCS_DIR=${env.BENCH_CMAKE_DOCS_DIR} has no variable/ folder`);
    return env.BENCH_CMAKE_DOCS_DIR;
  }
  const root = cacheRoot(env);
  const target = join(root, `${CMAKE_DOC.package}-${CMAKE_DOC.version}`);
  const html = join(target, CMAKE_DOC.htmlDir);
  if (existsSync(join(html, 'variable', 'CMAKE_BUILD_TYPE.html'))) return html;
  mkdirSync(root, { recursive: true });
  const staging = mkdtempSync(join(root, `.${CMAKE_DOC.package}-`));
  try {
    const deb = join(staging, CMAKE_DOC.file);
    const tried: string[] = [];
    let bytes: Buffer | undefined;
    try {
      log(`fetching ${CMAKE_DOC.package} ${CMAKE_DOC.version} with apt-get download ...`);
      execFileSync('apt-get', ['download', `${CMAKE_DOC.package}=${CMAKE_DOC.version}`], {
        cwd: staging,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 300_000,
      });
      bytes = readFileSync(deb);
    } catch (e) {
      tried.push(`apt-get download: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!bytes) {
      try {
        log(`fetching ${CMAKE_DOC.url} ...`);
        execFileSync('curl', ['-fsSL', '--max-time', '300', '-o', deb, CMAKE_DOC.url], { stdio: 'ignore' });
        bytes = readFileSync(deb);
      } catch (e) {
        tried.push(`GET ${CMAKE_DOC.url}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (!bytes) throw new Error(`could not fetch ${CMAKE_DOC.file}:\n  - ${tried.join('\n  - ')}`);
    const got = sha256(bytes);
    if (got !== CMAKE_DOC.sha256)
      throw new Error(`${CMAKE_DOC.file}: sha256 ${got} is not the pinned ${CMAKE_DOC.sha256}`);
    const unpacked = join(staging, 'root');
    execFileSync('dpkg-deb', ['-x', deb, unpacked], { stdio: 'inherit' });
    writeFileSync(join(unpacked, 'SOURCE'), `${CMAKE_DOC.url}\nsha256 ${CMAKE_DOC.sha256}\n`);
    rmSync(target, { recursive: true, force: true });
    renameSync(unpacked, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (!existsSync(join(html, 'variable', 'CMAKE_BUILD_TYPE.html')))
    throw new Error(`${html} is incomplete after unpacking`);
  return html;
}

// `npx tsx bench/lib/cmake-docs.ts` prints the folder (fetching it first when needed) and the page count.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const dir = cmakeDocsDir();
  console.log(`${dir}\n${cmakePages(dir).length} pages`);
}
