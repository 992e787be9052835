/**
 * Secret references: a configuration value that names where a secret lives instead of holding it.
 *
 *   env:NAME                          the environment variable NAME
 *   file:NAME                         the file NAME inside the configured secrets folder (Docker secrets,
 *                                     Kubernetes secret volumes); NAME is a plain file name
 *   vault:<mount>/data/<path>#<key>   the key <key> of the HashiCorp Vault / OpenBao KV v2 secret <path> in the
 *                                     secrets engine mounted at <mount>, e.g. vault:kv/data/llm#api_key
 *
 * A value with none of these prefixes is not a reference: the configuration uses it as a literal. A value with one
 * of these prefixes that does not parse is a bad reference and is refused; it never falls back to being a literal.
 */

/** `not_allowed`: a reference whose scheme the caller may not use (a tenant naming env:, file: or vault:). */
export type SecretErrorCode =
  'bad_reference' | 'not_allowed' | 'not_found' | 'unauthorized' | 'unreachable' | 'bad_response';

/**
 * The one error the secrets layer throws. Its message names the reference (references are not secret) and never
 * holds a secret value, a Vault token, an AppRole role id or secret id, or anything a server answered.
 */
export class SecretError extends Error {
  readonly code: SecretErrorCode;
  /** The reference being resolved, when there was one. */
  readonly ref?: string;

  constructor(code: SecretErrorCode, message: string, opts: { ref?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SecretError';
    this.code = code;
    this.ref = opts.ref;
  }
}

export type SecretRef =
  | { scheme: 'env'; ref: string; name: string }
  | { scheme: 'file'; ref: string; name: string }
  | { scheme: 'vault'; ref: string; mount: string; path: string; key: string };

export const SECRET_SCHEMES = ['env', 'file', 'vault'] as const;
const schemePattern = /^(env|file|vault):/;

/** True when the value starts with a known scheme (env:, file:, vault:), i.e. it is meant as a reference. */
export function isSecretRef(value: unknown): value is string {
  return typeof value === 'string' && schemePattern.test(value);
}

/** How a reference is named in messages: quoted, and cut short if it is absurdly long. */
export function showRef(ref: string): string {
  return JSON.stringify(ref.length > 200 ? `${ref.slice(0, 200)}…` : ref);
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
// One path segment of a Vault mount or secret path. Vault allows more, but these cover real-world names and
// keep every segment safe to put in a URL and in a message.
const vaultSegment = /^[A-Za-z0-9_.@+=-]+$/;
// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f]/;

function bad(ref: string, problem: string): SecretError {
  return new SecretError('bad_reference', `secret reference ${showRef(ref)} ${problem}`, { ref });
}

function checkVaultPath(ref: string, what: string, value: string): string[] {
  const segments = value.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || !vaultSegment.test(s)) {
      throw bad(
        ref,
        `has a bad Vault ${what} (segments are letters, digits and _ . @ + = -, no empty, "." or ".." segment)`,
      );
    }
  }
  return segments;
}

/** Parses and validates a reference; throws SecretError('bad_reference') naming what is wrong. */
export function parseSecretRef(ref: string): SecretRef {
  if (typeof ref !== 'string' || !schemePattern.test(ref)) {
    // Not a reference: it may be a literal secret, so it is not repeated in the message.
    throw new SecretError(
      'bad_reference',
      'not a secret reference: expected env:NAME, file:NAME or vault:<mount>/data/<path>#<key>',
    );
  }
  const colon = ref.indexOf(':');
  const scheme = ref.slice(0, colon) as SecretRef['scheme'];
  const body = ref.slice(colon + 1);
  if (body === '') throw bad(ref, `names nothing after "${scheme}:"`);
  if (controlChars.test(body)) throw bad(ref, 'contains control characters');

  switch (scheme) {
    case 'env':
      if (!envName.test(body)) {
        throw bad(ref, 'must name an environment variable (letters, digits and _, not starting with a digit)');
      }
      return { scheme, ref, name: body };

    case 'file':
      if (body.includes('/') || body.includes('\\')) {
        throw bad(ref, 'must be a plain file name inside the secrets folder, without "/"');
      }
      if (body.includes('..') || body === '.') {
        throw bad(ref, 'must be a plain file name inside the secrets folder, without ".."');
      }
      return { scheme, ref, name: body };

    case 'vault': {
      const hash = body.indexOf('#');
      if (hash < 0) throw bad(ref, 'must end with #<key>, as in vault:kv/data/llm#api_key');
      const location = body.slice(0, hash);
      const key = body.slice(hash + 1);
      if (key === '') throw bad(ref, 'has an empty key after "#"');
      if (key.includes('#')) throw bad(ref, 'has more than one "#"');
      const split = location.indexOf('/data/');
      if (split <= 0) {
        throw bad(ref, 'must look like vault:<mount>/data/<path>#<key> (KV v2), as in vault:kv/data/llm#api_key');
      }
      const mount = location.slice(0, split);
      const path = location.slice(split + '/data/'.length);
      if (path === '') throw bad(ref, 'has an empty secret path after "/data/"');
      checkVaultPath(ref, 'mount', mount);
      checkVaultPath(ref, 'secret path', path);
      return { scheme, ref, mount, path, key };
    }
  }
}
