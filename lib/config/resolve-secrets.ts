import { createSecretResolver, type SecretResolver } from '../secrets';
import { parseTenantSecretsKey, TENANT_SECRETS_KEY_FORMAT } from '../secrets/tenant-key';
import { ConfigError, type Config } from './types';

/**
 * Replaces secret references (env:NAME, file:NAME, vault:<mount>/data/<path>#<key>) in the secret-bearing settings
 * by their values. Vault's own credentials may be env: or file: references. A failure is a ConfigError naming the
 * variable; no secret value ever appears in it.
 */
export async function resolveConfigSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const base = { env, secretsDir: config.secrets.dir };
  const step = async <T extends Record<string, string | undefined>>(
    values: T,
    resolver: SecretResolver,
  ): Promise<T> => {
    try {
      return await resolver.resolveAll(values);
    } catch (e) {
      const message = (e as Error).message;
      const variable = Object.keys(values).find((k) => message.startsWith(k)) ?? 'secret';
      throw new ConfigError(
        variable,
        `could not be resolved: ${message.slice(variable.length).replace(/^[:\s]+/, '')}`,
      );
    }
  };
  const local = createSecretResolver(base);
  const vaultCreds = config.secrets.vault
    ? await step(
        {
          VAULT_TOKEN: config.secrets.vault.token,
          VAULT_ROLE_ID: config.secrets.vault.roleId,
          VAULT_SECRET_ID: config.secrets.vault.secretId,
        },
        local,
      )
    : undefined;
  const vault =
    config.secrets.vault && vaultCreds
      ? {
          ...config.secrets.vault,
          token: vaultCreds.VAULT_TOKEN,
          roleId: vaultCreds.VAULT_ROLE_ID,
          secretId: vaultCreds.VAULT_SECRET_ID,
        }
      : undefined;
  const resolver = createSecretResolver({ ...base, vault });
  const resolved = await step(
    {
      OPENAI_API_KEY: config.llm.apiKey,
      TEMPORAL_API_KEY: config.temporal.apiKey,
      TENANT_SECRETS_KEY: config.secrets.tenantKey,
      OIDC_CLIENT_SECRET: config.oidc?.clientSecret,
    },
    resolver,
  );
  if (resolved.TENANT_SECRETS_KEY !== undefined && !parseTenantSecretsKey(resolved.TENANT_SECRETS_KEY)) {
    throw new ConfigError('TENANT_SECRETS_KEY', TENANT_SECRETS_KEY_FORMAT);
  }
  return {
    ...config,
    secrets: { ...config.secrets, vault, tenantKey: resolved.TENANT_SECRETS_KEY },
    llm: { ...config.llm, apiKey: resolved.OPENAI_API_KEY },
    temporal: { ...config.temporal, apiKey: resolved.TEMPORAL_API_KEY },
    oidc: config.oidc ? { ...config.oidc, clientSecret: resolved.OIDC_CLIENT_SECRET } : null,
  };
}
