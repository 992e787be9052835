import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`larger than the ${limit}-byte limit`);
    this.name = 'BlobTooLargeError';
  }
}

export interface StoredBlob {
  /** sha256 hex of the content: the blob's name, and the document's content hash. */
  sha256: string;
  size: number;
}

/**
 * Content-addressed files under one folder (`<dataDir>/blobs`), per tenant. Uploads stream through a hash into a
 * temporary file and are renamed into place, so a blob is never seen half-written and the same content is stored
 * once. Workers read what the API wrote: both need the same folder (a shared volume outside the embedded stack).
 */
export class BlobStore {
  constructor(private readonly root: string) {}

  private dir(tenantId: string) {
    if (!/^[0-9a-f-]{36}$/i.test(tenantId)) throw new Error('bad tenant id');
    return join(this.root, tenantId);
  }

  path(tenantId: string, sha256: string) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('bad blob id');
    return join(this.dir(tenantId), sha256.slice(0, 2), sha256);
  }

  /** Streams `source` into the store; throws BlobTooLargeError (and keeps nothing) past `maxBytes`. */
  async put(tenantId: string, source: Readable, maxBytes: number): Promise<StoredBlob> {
    const dir = this.dir(tenantId);
    await mkdir(join(dir, 'tmp'), { recursive: true });
    const tmp = join(dir, 'tmp', randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) return done(new BlobTooLargeError(maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tmp));
    } catch (e) {
      await rm(tmp, { force: true });
      source.resume(); // drain what is left so the request can be answered
      throw e;
    }
    const sha256 = hash.digest('hex');
    const final = this.path(tenantId, sha256);
    await mkdir(join(dir, sha256.slice(0, 2)), { recursive: true });
    await rename(tmp, final);
    return { sha256, size };
  }

  async putBuffer(tenantId: string, bytes: Buffer): Promise<StoredBlob> {
    const { Readable } = await import('node:stream');
    return this.put(tenantId, Readable.from([bytes]), Number.MAX_SAFE_INTEGER);
  }

  read(tenantId: string, sha256: string): Promise<Buffer> {
    return readFile(this.path(tenantId, sha256));
  }

  async exists(tenantId: string, sha256: string): Promise<boolean> {
    return stat(this.path(tenantId, sha256)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Every blob of the tenant with when it was last written (a re-upload of the same content renews it), in no
   * particular order; the temporary files of uploads under way are not blobs.
   */
  async *list(tenantId: string): AsyncGenerator<{ sha256: string; writtenAt: Date }> {
    const dir = this.dir(tenantId);
    const prefixes = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    for (const prefix of prefixes) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      const names = await readdir(join(dir, prefix)).catch(() => [] as string[]);
      for (const sha256 of names) {
        if (!/^[0-9a-f]{64}$/.test(sha256) || !sha256.startsWith(prefix)) continue;
        const st = await stat(join(dir, prefix, sha256)).catch(() => null);
        if (st?.isFile()) yield { sha256, writtenAt: st.mtime };
      }
    }
  }

  /**
   * Deletes a blob only if it was last written before `before`. The file is first moved aside and its age checked
   * there: content uploaded anew in the meantime is a newer file (put renames over the old one), and one moved aside
   * by mistake goes back (same name, same content). Returns whether it deleted it.
   */
  async removeIfWrittenBefore(tenantId: string, sha256: string, before: Date): Promise<boolean> {
    const file = this.path(tenantId, sha256);
    const st = await stat(file).catch(() => null);
    if (!st || st.mtime >= before) return false;
    const dir = this.dir(tenantId);
    await mkdir(join(dir, 'tmp'), { recursive: true });
    const aside = join(dir, 'tmp', `removing-${randomUUID()}`);
    try {
      await rename(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    if ((await stat(aside)).mtime >= before) {
      await rename(aside, file);
      return false;
    }
    await rm(aside, { force: true });
    return true;
  }
}
