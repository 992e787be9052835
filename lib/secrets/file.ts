import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SecretError, showRef, type SecretRef } from './ref';

type FileRef = Extract<SecretRef, { scheme: 'file' }>;

/** Larger files are refused: a secret is a token, a password or a key, not a data file. */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/**
 * file:NAME: the contents of <secretsDir>/NAME, as Docker secrets (/run/secrets) and Kubernetes secret volumes
 * mount them, with trailing line breaks removed (files written by `echo` or an editor end with one). The name was
 * checked by parseSecretRef to be a plain file name; a symbolic link inside the folder is followed (Kubernetes
 * mounts each key as a link into its ..data folder).
 */
export async function readFileSecret(ref: FileRef, secretsDir: string | undefined): Promise<string> {
  const fail = (code: SecretError['code'], problem: string, cause?: unknown) =>
    new SecretError(code, `secret ${showRef(ref.ref)}: ${problem}`, { ref: ref.ref, cause });
  if (!secretsDir) throw fail('bad_reference', 'no secrets folder is configured for file: references');

  const dir = resolve(secretsDir);
  const path = join(dir, ref.name);
  // parseSecretRef already refuses "/" and "..": this is a second lock on the same door.
  if (resolve(path) !== path || !path.startsWith(dir + '/') || path.slice(dir.length + 1) !== ref.name) {
    throw fail('bad_reference', 'must name a file directly inside the secrets folder');
  }

  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fail('not_found', `no file ${ref.name} in the secrets folder`);
    if (code === 'EISDIR') throw fail('not_found', `${ref.name} in the secrets folder is a folder, not a file`);
    if (code === 'EACCES' || code === 'EPERM')
      throw fail('unauthorized', `no permission to read ${ref.name} in the secrets folder`);
    throw fail('unreachable', `cannot read ${ref.name} in the secrets folder (${code ?? 'unknown error'})`);
  }
  if (content.length > MAX_SECRET_FILE_BYTES) {
    throw fail('bad_response', `${ref.name} in the secrets folder is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
  }
  const value = content.toString('utf8').replace(/[\r\n]+$/, '');
  if (value === '') throw fail('not_found', `${ref.name} in the secrets folder is empty`);
  return value;
}
