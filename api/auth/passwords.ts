import { hash, verify } from '@node-rs/argon2';
import { badRequest } from '../../lib/errors';

/** argon2id with the library's defaults (m=19456 KiB, t=2, p=1): OWASP's recommended minimum. */
export const hashPassword = (password: string): Promise<string> => hash(password);

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** Length, not composition rules (NIST 800-63B); and never the account's own email. */
export function checkPasswordRules(password: string, email: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX)
    throw badRequest('weak_password', `A password has ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`);
  if (password.trim().toLowerCase() === email.trim().toLowerCase())
    throw badRequest('weak_password', 'A password cannot be the account email.');
}

// Verified for unknown emails and accounts without a password, so an answer takes as long either way and its
// timing does not tell whether an account exists.
let dummyHash: Promise<string> | null = null;

/** True when the password matches; a missing hash costs the same argon2 work and answers false. */
export async function verifyPassword(passwordHash: string | null | undefined, password: string): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hash('not-a-password-of-anyone');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
