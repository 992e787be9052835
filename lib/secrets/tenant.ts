/**
 * Tenant secrets: the only secrets a tenant's own settings (an MCP server's bearer token and headers) may name, as
 * `secret:<name>`. They live in Postgres, per tenant, AES-256-GCM encrypted under the platform key (tenant-key.ts).
 *
 * env:, file: and vault: references are for the operator's configuration (lib/config/): a tenant naming one is
 * refused when the setting is given (checkTenantSecretRef) and again when it would be resolved, without reading it
 * and without repeating what it names. Another tenant's secret of the same name is not found, like a missing one.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { Config } from '../config';
import { TenantSecretEntity, type TenantSecretRow } from '../db/entities/secrets';
import type { Orm } from '../db/orm';
import { isSecretRef, SECRET_SCHEMES, SecretError } from './ref';
import { secretRegistry, type SecretRegistry } from './registry';
import { loadTenantSecretsKey, tenantSecretsKeyId } from './tenant-key';

export const TENANT_SECRET_PREFIX = 'secret:';
export const TENANT_SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const TENANT_SECRET_NAME_RULE = '1-100 of A-Z, a-z, 0-9, _ . and -, starting with a letter or digit';
/** A secret is a token, a password or a key. */
export const MAX_TENANT_SECRET_BYTES = 16 * 1024;

/** A value that is meant as a reference of some scheme (and so is never sent on as a literal). */
export function looksLikeSecretRef(value: unknown): value is string {
  return isSecretRef(value) || (typeof value === 'string' && value.startsWith(TENANT_SECRET_PREFIX));
}

/**
 * What a tenant-given reference is: `ok` with the secret's name, `not_allowed` for the operator's schemes (env:,
 * file:, vault:), `bad` for a `secret:` reference with a bad name or anything that is no reference.
 */
export function checkTenantSecretRef(
  value: string,
): { ok: true; name: string } | { ok: false; problem: 'not_allowed' | 'bad' } {
  if (SECRET_SCHEMES.some((scheme) => value.startsWith(`${scheme}:`))) return { ok: false, problem: 'not_allowed' };
  if (!value.startsWith(TENANT_SECRET_PREFIX)) return { ok: false, problem: 'bad' };
  const name = value.slice(TENANT_SECRET_PREFIX.length);
  return TENANT_SECRET_NAME.test(name) ? { ok: true, name } : { ok: false, problem: 'bad' };
}

/** Resolves the references a tenant's settings hold, inside that tenant's own secrets only. */
export interface TenantSecretResolver {
  /** The value of `secret:<name>` for this tenant. Throws SecretError (never naming anything but the tenant's name). */
  resolve(tenantId: string, ref: string): Promise<string>;
}

export interface TenantSecretInfo {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

const info = (r: Pick<TenantSecretRow, 'name' | 'createdAt' | 'updatedAt'>): TenantSecretInfo => ({
  name: r.name,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

// The row's owner and name are bound into the ciphertext: a value moved to another tenant or name does not open.
const associatedData = (tenantId: string, name: string) =>
  Buffer.from(`beyondcloud tenant secret v1\0${tenantId}\0${name}`, 'utf8');

export function sealTenantSecret(
  key: Buffer,
  tenantId: string,
  name: string,
  value: string,
): Pick<TenantSecretRow, 'keyId' | 'nonce' | 'ciphertext' | 'authTag'> {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associatedData(tenantId, name));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { keyId: tenantSecretsKeyId(key), nonce, ciphertext, authTag: cipher.getAuthTag() };
}

export function openTenantSecret(
  key: Buffer,
  row: Pick<TenantSecretRow, 'tenantId' | 'name' | 'keyId' | 'nonce' | 'ciphertext' | 'authTag'>,
): string {
  const ref = `${TENANT_SECRET_PREFIX}${row.name}`;
  if (row.keyId !== tenantSecretsKeyId(key)) {
    throw new SecretError(
      'unauthorized',
      `tenant secret ${JSON.stringify(row.name)} was encrypted under another TENANT_SECRETS_KEY (key id ${row.keyId}; this process has ${tenantSecretsKeyId(key)}): the API and every worker must use the same key`,
      { ref },
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, row.nonce);
    decipher.setAAD(associatedData(row.tenantId, row.name));
    decipher.setAuthTag(row.authTag);
    return Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8');
  } catch (e) {
    throw new SecretError(
      'bad_response',
      `tenant secret ${JSON.stringify(row.name)} does not decrypt (it was altered or moved)`,
      { ref, cause: e },
    );
  }
}

/** The tenant secrets store; every method is scoped by the tenant id it is given. */
export class TenantSecrets implements TenantSecretResolver {
  private key: Promise<Buffer> | null = null;

  constructor(
    private readonly opts: {
      orm: Orm;
      /** The platform key; asked once, on first use (a process that never touches tenant secrets never needs it). */
      key: () => Promise<Buffer>;
      registry?: SecretRegistry;
    },
  ) {}

  private platformKey(): Promise<Buffer> {
    this.key ??= this.opts.key().catch((e: unknown) => {
      this.key = null;
      throw e;
    });
    return this.key;
  }

  async list(tenantId: string): Promise<TenantSecretInfo[]> {
    const rows = await this.opts.orm.em
      .fork()
      .find(TenantSecretEntity, { tenantId }, { orderBy: { name: 'asc' }, fields: ['name', 'createdAt', 'updatedAt'] });
    return rows.map(info);
  }

  /** Creates or replaces a secret; `created` tells which. */
  async put(tenantId: string, name: string, value: string): Promise<TenantSecretInfo & { created: boolean }> {
    checkName(name);
    if (value === '' || Buffer.byteLength(value, 'utf8') > MAX_TENANT_SECRET_BYTES) {
      throw new SecretError('bad_reference', `a tenant secret's value must be 1 to ${MAX_TENANT_SECRET_BYTES} bytes`);
    }
    const sealed = sealTenantSecret(await this.platformKey(), tenantId, name, value);
    const now = new Date();
    const em = this.opts.orm.em.fork();
    const [row] = (await em
      .createQueryBuilder(TenantSecretEntity)
      .insert({ id: randomUUID(), tenantId, name, ...sealed, createdAt: now, updatedAt: now })
      .onConflict(['tenantId', 'name'])
      .merge(['keyId', 'nonce', 'ciphertext', 'authTag', 'updatedAt'])
      .returning(['name', 'createdAt', 'updatedAt'])
      .execute('all')) as unknown as Array<{ name: string; createdAt: Date | string; updatedAt: Date | string }>;
    const createdAt = new Date(row!.createdAt);
    return { name, createdAt, updatedAt: new Date(row!.updatedAt), created: createdAt.getTime() === now.getTime() };
  }

  /** False when the tenant has no such secret. */
  async delete(tenantId: string, name: string): Promise<boolean> {
    checkName(name);
    return (await this.opts.orm.em.fork().nativeDelete(TenantSecretEntity, { tenantId, name })) > 0;
  }

  /** The value of the tenant's secret `name`. */
  async read(tenantId: string, name: string): Promise<string> {
    checkName(name);
    const ref = `${TENANT_SECRET_PREFIX}${name}`;
    const row = await this.opts.orm.em.fork().findOne(TenantSecretEntity, { tenantId, name });
    if (!row)
      throw new SecretError('not_found', `the tenant has no secret ${JSON.stringify(name)} (PUT /v1/secrets/${name})`, {
        ref,
      });
    const value = openTenantSecret(await this.platformKey(), row);
    (this.opts.registry ?? secretRegistry).add(value);
    return value;
  }

  async resolve(tenantId: string, ref: string): Promise<string> {
    const checked = checkTenantSecretRef(ref);
    if (!checked.ok) {
      // The reference is not repeated: what it names belongs to the platform, not to the tenant.
      throw checked.problem === 'not_allowed'
        ? new SecretError(
            'not_allowed',
            'only tenant secret references (secret:<name>) are allowed here; env:, file: and vault: references are for the operator',
          )
        : new SecretError(
            'bad_reference',
            `not a tenant secret reference: expected secret:<name>, the name ${TENANT_SECRET_NAME_RULE}`,
          );
    }
    return this.read(tenantId, checked.name);
  }
}

function checkName(name: string): void {
  if (!TENANT_SECRET_NAME.test(name))
    throw new SecretError('bad_reference', `a tenant secret's name must be ${TENANT_SECRET_NAME_RULE}`);
}

/** The store for a process, with the key from its configuration (config.secrets.tenantKey or the data folder's file). */
export function createTenantSecrets({
  orm,
  config,
}: {
  orm: Orm;
  config: Pick<Config, 'env' | 'dataDir' | 'secrets'>;
}): TenantSecrets {
  return new TenantSecrets({
    orm,
    key: () =>
      loadTenantSecretsKey({
        key: config.secrets.tenantKey,
        dataDir: config.dataDir,
        production: config.env === 'production',
      }),
  });
}
