/**
 * The platform key tenant secrets are encrypted under (AES-256-GCM): TENANT_SECRETS_KEY, or, outside production, a key
 * generated once into <BC_DATA_DIR>/tenant-secrets.key (mode 0600), which `npm start`'s worker and API share because
 * they share the data folder. In production the API and the workers run apart (separate pods, read-only file systems),
 * so each would generate its own key and the workers could not read what the API stored: there the key must be given.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const TENANT_SECRETS_KEY_BYTES = 32;
export const TENANT_SECRETS_KEY_FILE = 'tenant-secrets.key';
export const TENANT_SECRETS_KEY_FORMAT =
  'must be 32 bytes as base64 or 64 hex characters (e.g. `openssl rand -base64 32`)';

/** A key problem; the message names where the key comes from, never the key. */
export class TenantSecretsKeyError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'TenantSecretsKeyError';
  }
}

/** 32 bytes given as 64 hex characters or as base64 (standard or URL-safe, padding optional); null otherwise. */
export function parseTenantSecretsKey(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) return null;
  const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === TENANT_SECRETS_KEY_BYTES ? key : null;
}

/** A short fingerprint stored beside each ciphertext: a row sealed under another key is recognised as such. */
export function tenantSecretsKeyId(key: Buffer): string {
  return createHash('sha256').update('beyondcloud tenant secrets key\0').update(key).digest('hex').slice(0, 16);
}

export interface TenantSecretsKeySource {
  /** TENANT_SECRETS_KEY after resolveConfigSecrets (a reference has become its value). */
  key?: string;
  dataDir: string;
  production: boolean;
}

export async function loadTenantSecretsKey(source: TenantSecretsKeySource): Promise<Buffer> {
  if (source.key !== undefined) {
    const key = parseTenantSecretsKey(source.key);
    if (!key)
      throw new TenantSecretsKeyError(
        `TENANT_SECRETS_KEY ${TENANT_SECRETS_KEY_FORMAT} (a secret reference must be resolved first)`,
      );
    return key;
  }
  if (source.production) {
    throw new TenantSecretsKeyError(
      'TENANT_SECRETS_KEY is required in production: the API and every worker must encrypt tenant secrets under the same key',
    );
  }
  return readOrCreateKeyFile(join(source.dataDir, TENANT_SECRETS_KEY_FILE));
}

/**
 * The key file's key, creating the file when there is none. Created under a temporary name and linked into place,
 * so a worker and an API starting together never read a half-written file and agree on whichever link won.
 */
async function readOrCreateKeyFile(path: string): Promise<Buffer> {
  const read = async (): Promise<Buffer | null> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new TenantSecretsKeyError(
        `cannot read the tenant secrets key file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: e },
      );
    }
    const key = parseTenantSecretsKey(text);
    if (!key) throw new TenantSecretsKeyError(`the tenant secrets key file ${path} ${TENANT_SECRETS_KEY_FORMAT}`);
    return key;
  };
  const existing = await read();
  if (existing) return existing;
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, `${randomBytes(TENANT_SECRETS_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    await link(temp, path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  } catch (e) {
    throw new TenantSecretsKeyError(
      `cannot create the tenant secrets key file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); set TENANT_SECRETS_KEY instead`,
      { cause: e },
    );
  } finally {
    await unlink(temp).catch(() => {});
  }
  const created = await read();
  if (!created) throw new TenantSecretsKeyError(`the tenant secrets key file ${path} vanished while it was created`);
  return created;
}
