import { describe, expect, it } from 'vitest';
import {
  aggregateIngests,
  duplicateNames,
  filesNamedIn,
  formatBytes,
  partProgress,
  parseUrlList,
  pickedFromList,
  planBatches,
  TooManyFilesError,
  uploadTotals,
  urlErrorLine,
  walkEntries,
  type EntryLike,
  type UploadItem,
} from './knowledge';

/** A fake dropped tree: strings are files, objects folders; readers answer in pages of two, as Chromium's in 100s. */
function entry(name: string, node: string | Record<string, unknown>, parent = ''): EntryLike {
  const fullPath = `${parent}/${name}`;
  if (typeof node === 'string')
    return { isFile: true, isDirectory: false, name, fullPath, file: (ok) => ok(new File([node], name)) };
  const children = Object.entries(node).map(([n, c]) => entry(n, c as string | Record<string, unknown>, fullPath));
  return {
    isFile: false,
    isDirectory: true,
    name,
    fullPath,
    createReader() {
      let at = 0;
      return {
        readEntries(ok) {
          const page = children.slice(at, at + 2);
          at += 2;
          setTimeout(() => ok(page), 0);
        },
      };
    },
  };
}

describe('walkEntries', () => {
  it('walks dropped folders recursively, reading every page of a directory, hidden files left out', async () => {
    const tree = entry('docs', {
      'b.md': 'b',
      'a.md': 'a',
      '.DS_Store': 'x',
      sub: { 'c.txt': 'c', deeper: { 'd.html': '<p>d</p>' }, 'e.md': 'e' },
      '.git': { config: 'x' },
    });
    const files = await walkEntries([tree, entry('top.md', 'top')]);
    expect(files.map((f) => f.path)).toEqual([
      'docs/a.md',
      'docs/b.md',
      'docs/sub/c.txt',
      'docs/sub/deeper/d.html',
      'docs/sub/e.md',
      'top.md',
    ]);
    expect(await files[3]!.file.text()).toBe('<p>d</p>');
  });

  it('stops past the limit', async () => {
    const tree = entry('many', Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`${i}.md`, 'x'])));
    await expect(walkEntries([tree], 4)).rejects.toBeInstanceOf(TooManyFilesError);
  });
});

describe('picked files', () => {
  it('keeps a folder pick’s relative paths and leaves hidden files out', () => {
    const a = new File(['a'], 'a.md');
    const hidden = new File(['h'], 'config');
    Object.defineProperty(a, 'webkitRelativePath', { value: 'docs/a.md' });
    Object.defineProperty(hidden, 'webkitRelativePath', { value: 'docs/.git/config' });
    expect(pickedFromList([a, hidden, new File(['b'], 'b.md')]).map((f) => f.path)).toEqual(['docs/a.md', 'b.md']);
  });

  it('names the file names sent twice', () => {
    const f = (path: string) => ({ path, file: new File(['x'], path.split('/').pop()!) });
    expect(duplicateNames([f('a/readme.md'), f('b/readme.md'), f('c.md')])).toEqual(['readme.md']);
  });
});

describe('planBatches', () => {
  it('groups files by count and bytes, in order; a large file goes alone', () => {
    expect(planBatches([1, 1, 1, 1, 1], { maxFiles: 2, maxBytes: 100 })).toEqual([[0, 1], [2, 3], [4]]);
    expect(planBatches([40, 40, 500, 10], { maxFiles: 10, maxBytes: 100 })).toEqual([[0, 1], [2], [3]]);
    expect(planBatches([])).toEqual([]);
  });
});

describe('partProgress', () => {
  it('maps a request’s bytes onto its files in order, the framing spread over the parts', () => {
    // Two files of 100 bytes, 50 bytes of framing per part: the request is 300 bytes.
    expect(partProgress([100, 100], 0, 300)).toEqual([0, 0]);
    expect(partProgress([100, 100], 100, 300)).toEqual([0.5, 0]);
    expect(partProgress([100, 100], 150, 300)).toEqual([1, 0]);
    expect(partProgress([100, 100], 250, 300)).toEqual([1, 0.5]);
    expect(partProgress([100, 100], 300, 300)).toEqual([1, 1]);
  });

  it('counts an empty file as sent once its part is', () => {
    expect(partProgress([0, 10], 5, 30)).toEqual([0, 0]);
    expect(partProgress([0, 10], 10, 30)).toEqual([1, 0]);
  });
});

describe('upload totals and errors', () => {
  const item = (state: UploadItem['state'], size: number, fraction: number): UploadItem => ({
    key: String(Math.random()),
    path: 'x',
    name: 'x',
    size,
    state,
    fraction,
    error: null,
    workflowId: null,
  });

  it('adds up bytes sent, a failed file counting as settled', () => {
    expect(uploadTotals([item('stored', 100, 1), item('uploading', 100, 0.5), item('failed', 200, 0)])).toEqual({
      files: 3,
      stored: 1,
      failed: 1,
      fraction: 350 / 400,
    });
  });

  it('puts a refusal on the file it names, else on every file of the request', () => {
    expect(filesNamedIn('big.pdf is larger than the 100-byte limit per file.', ['a.md', 'big.pdf'])).toEqual([1]);
    expect(filesNamedIn('Storage quota exceeded.', ['a.md', 'b.md'])).toEqual([0, 1]);
  });
});

describe('parseUrlList', () => {
  it('reads one URL a line, skipping blanks, comments and repeats, and says what is wrong with a line', () => {
    const list = parseUrlList(
      ' https://example.com/a \n\n# docs\nhttps://example.com/a\nftp://example.com/x\nnot a url\nhttp://user:pw@example.com/b',
    );
    expect(list.urls).toEqual(['https://example.com/a', 'http://user:pw@example.com/b']);
    expect(list.lines).toEqual([1, 7]);
    expect(list.problems).toEqual([
      { line: 5, text: 'ftp://example.com/x', reason: 'only http and https URLs are fetched' },
      { line: 6, text: 'not a url', reason: 'not a URL' },
    ]);
  });

  it('points an API refusal at its line', () => {
    expect(urlErrorLine({ path: ['urls', 1] }, [1, 7])).toBe(7);
    expect(urlErrorLine([{ path: ['urls', 0, 'x'] }], [3])).toBe(3);
    expect(urlErrorLine(undefined, [1])).toBeNull();
  });
});

describe('aggregateIngests', () => {
  const progress = (total: number, done: number, failed = 0) => ({
    total,
    done,
    failed,
    skipped: 0,
    chunks: done * 2,
    failures: failed ? [{ documentId: 'd', reason: 'unsupported format' }] : [],
  });

  it('adds up several runs into one bar, running while any runs', () => {
    const a = aggregateIngests([
      { workflowId: 'a', status: 'completed', progress: progress(2, 2) },
      { workflowId: 'b', status: 'running', progress: progress(3, 1, 1) },
    ]);
    expect(a).toMatchObject({ running: true, total: 5, done: 3, failed: 1, chunks: 6, fraction: 0.6 });
    expect(a.failures).toEqual([{ documentId: 'd', reason: 'unsupported format' }]);
    const b = aggregateIngests([{ workflowId: 'a', status: 'terminated', progress: null }]);
    expect(b).toMatchObject({ running: false, fraction: 1 });
    expect(b.ended.map((r) => r.workflowId)).toEqual(['a']);
  });
});

it('formats sizes', () => {
  expect(formatBytes(512)).toBe('512 B');
  expect(formatBytes(1536)).toBe('1.5 KB');
  expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MB');
  expect(formatBytes(null)).toBe('—');
});
