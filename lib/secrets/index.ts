/**
 * The secrets layer: configuration values may be references (env:NAME, file:NAME,
 * vault:<mount>/data/<path>#<key>) that a resolver turns into the secret they name. See ref.ts for the syntax.
 *
 * Every resolved value is added to a SecretRegistry (by default the process-wide `secretRegistry`) so that the
 * logger and the error mapper can redact it. Values shorter than 6 characters are not registered (see registry.ts).
 *
 * These references are for the operator's configuration only. What a tenant configures (an MCP server's bearer token
 * and headers) names the tenant's own secrets, `secret:<name>`, resolved by tenant.ts and never by this resolver.
 */
import { readEnvSecret } from './env';
import { readFileSecret } from './file';
import { isSecretRef, parseSecretRef, SecretError, showRef } from './ref';
import { secretRegistry, type SecretRegistry } from './registry';
import { createVaultReader, type VaultOptions, type VaultReader } from './vault';

export { isSecretRef, parseSecretRef, SecretError, SECRET_SCHEMES } from './ref';
export type { SecretErrorCode, SecretRef } from './ref';
export { MIN_REDACTED_LENGTH, REDACTED, SecretRegistry, secretRegistry } from './registry';
export { DEFAULT_VAULT_TIMEOUT_MS } from './vault';
export type { VaultOptions } from './vault';
export { MAX_SECRET_FILE_BYTES } from './file';

export interface SecretResolverOptions {
  /** Where env: references are looked up. */
  env: NodeJS.ProcessEnv;
  /** The folder file: references are read from (e.g. /run/secrets). Without it file: references are refused. */
  secretsDir?: string;
  /** Vault or OpenBao for vault: references. Without it vault: references are refused. */
  vault?: VaultOptions;
  /** The fetch used to talk to Vault (tests). */
  fetch?: typeof fetch;
  /** Where resolved values are registered for redaction; the process-wide `secretRegistry` by default. */
  registry?: SecretRegistry;
}

export interface SecretResolver {
  /** The secret a reference names. Throws SecretError. */
  resolve(ref: string): Promise<string>;
  /**
   * A copy of `values` in which every value that is a reference (isSecretRef) is replaced by its secret; other
   * values are kept as they are. All references are resolved; if any fails, the failure of the first key (in the
   * object's order) is thrown, its message starting with that key.
   */
  resolveAll<T extends Record<string, string | undefined>>(values: T): Promise<T>;
}

export function createSecretResolver(opts: SecretResolverOptions): SecretResolver {
  const registry = opts.registry ?? secretRegistry;
  let vault: VaultReader | null = null;

  async function resolve(ref: string): Promise<string> {
    const parsed = parseSecretRef(ref);
    let value: string;
    switch (parsed.scheme) {
      case 'env':
        value = readEnvSecret(parsed, opts.env);
        break;
      case 'file':
        value = await readFileSecret(parsed, opts.secretsDir);
        break;
      case 'vault':
        if (!opts.vault) {
          throw new SecretError(
            'bad_reference',
            `secret ${showRef(ref)}: no Vault address is configured for vault: references`,
            {
              ref,
            },
          );
        }
        vault ??= createVaultReader(opts.vault, { fetch: opts.fetch ?? globalThis.fetch, registry });
        value = await vault.read(parsed);
        break;
    }
    registry.add(value);
    return value;
  }

  async function resolveAll<T extends Record<string, string | undefined>>(values: T): Promise<T> {
    const entries = Object.entries(values);
    const settled = await Promise.allSettled(
      entries.map(([, v]) => (isSecretRef(v) ? resolve(v) : Promise.resolve(v))),
    );
    const out: Record<string, string | undefined> = {};
    for (const [i, [key]] of entries.entries()) {
      const r = settled[i]!;
      if (r.status === 'rejected') {
        const e = r.reason as unknown;
        if (e instanceof SecretError) throw new SecretError(e.code, `${key}: ${e.message}`, { ref: e.ref });
        throw e;
      }
      out[key] = r.value;
    }
    return out as T;
  }

  return { resolve, resolveAll };
}
