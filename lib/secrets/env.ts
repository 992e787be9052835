import { SecretError, showRef, type SecretRef } from './ref';

type EnvRef = Extract<SecretRef, { scheme: 'env' }>;

/** env:NAME: the variable's value. Unset and empty are both "not found" (the config treats '' as unset). */
export function readEnvSecret(ref: EnvRef, env: NodeJS.ProcessEnv): string {
  const value = env[ref.name];
  if (value === undefined || value === '') {
    throw new SecretError(
      'not_found',
      `secret ${showRef(ref.ref)}: environment variable ${ref.name} is unset or empty`,
      {
        ref: ref.ref,
      },
    );
  }
  return value;
}
