import { RateLimiterMemory } from 'rate-limiter-flexible';
import { UserEntity, type User } from '../../lib/db/entities';
import type { Config } from '../../lib/config';
import type { Orm } from '../../lib/db/orm';
import { AppError } from '../../lib/errors';
import { verifyPassword } from '../auth/passwords';

export const invalidCredentials = () =>
  new AppError({
    code: 'invalid_credentials',
    message: 'The email or password is wrong.',
    status: 401,
    category: 'auth',
  });

/** 429 `login_locked`; `retryAfterSeconds` becomes the Retry-After header (not the body, which stays the same). */
export const loginLocked = (retryAfterSeconds: number) =>
  Object.assign(
    new AppError({
      code: 'login_locked',
      message: 'Too many failed sign-ins; wait before trying again (see Retry-After).',
      status: 429,
      category: 'auth',
    }),
    { retryAfterSeconds },
  );

/**
 * Checks an email and password with brute-force protection. Three counters: the account's own (users.failed_logins,
 * in the database, so every API process sees it), one per client address and email, and, for emails without an
 * account, one per email that behaves exactly like the account counter. All lock after LOGIN_MAX_FAILURES
 * consecutive failures for LOGIN_LOCKOUT_MINUTES, so neither the answers nor the lock tell whether an account exists.
 */
export class PasswordCheck {
  private readonly perClient: RateLimiterMemory;
  private readonly perUnknownEmail: RateLimiterMemory;
  private readonly maxFailures: number;
  private readonly lockoutMs: number;

  constructor(
    private readonly orm: Orm,
    auth: Config['auth'],
  ) {
    this.maxFailures = auth.loginMaxFailures;
    this.lockoutMs = auth.loginLockoutMinutes * 60_000;
    // Failures are remembered for four lockout periods: long enough to mirror "consecutive", short enough that the
    // in-memory map does not grow without bound under a spray of made-up emails.
    const options = { points: this.maxFailures, duration: Math.ceil((this.lockoutMs * 4) / 1000) };
    this.perClient = new RateLimiterMemory({ ...options, keyPrefix: 'login-client' });
    this.perUnknownEmail = new RateLimiterMemory({ ...options, keyPrefix: 'login-email' });
  }

  /**
   * The user whose password this is; otherwise 401 `invalid_credentials` (unknown email, wrong password, disabled
   * account, account without a password alike) or 429 `login_locked` (with `retryAfterSeconds`), also for the right
   * password while locked.
   */
  async verify(input: { email: string; password: string; ip: string }): Promise<User> {
    const clientKey = `${input.ip}|${input.email}`;
    await this.refuseIfLimited(this.perClient, clientKey);
    const em = this.orm.em.fork();
    const user = await em.findOne(UserEntity, { email: input.email });
    if (!user) await this.refuseIfLimited(this.perUnknownEmail, input.email);
    if (user?.lockedUntil && user.lockedUntil.getTime() > Date.now())
      throw loginLocked(Math.ceil((user.lockedUntil.getTime() - Date.now()) / 1000));

    const ok = await verifyPassword(user?.passwordHash, input.password);
    if (ok && user && !user.disabledAt) {
      await Promise.all([
        this.perClient.delete(clientKey),
        em.nativeUpdate(UserEntity, { id: user.id }, { failedLogins: 0, lockedUntil: null }),
      ]);
      return user;
    }

    await this.countFailure(this.perClient, clientKey);
    if (user) await this.countAccountFailure(user.id);
    else await this.countFailure(this.perUnknownEmail, input.email);
    throw invalidCredentials();
  }

  private async refuseIfLimited(limiter: RateLimiterMemory, key: string): Promise<void> {
    const res = await limiter.get(key);
    if (res && res.consumedPoints >= this.maxFailures) throw loginLocked(Math.ceil(res.msBeforeNext / 1000));
  }

  /** The last allowed failure starts the lock, which then lasts the lockout period from now. */
  private async countFailure(limiter: RateLimiterMemory, key: string): Promise<void> {
    const res = await limiter.consume(key).catch((r: { consumedPoints: number }) => r);
    if (res.consumedPoints >= this.maxFailures) await limiter.block(key, this.lockoutMs / 1000);
  }

  /** One statement, so concurrent failures are all counted; reaching the limit locks and restarts the count. */
  private async countAccountFailure(userId: string): Promise<void> {
    await this.orm.em
      .fork()
      .getConnection()
      .execute(
        `update users set
         locked_until = case when failed_logins + 1 >= ? then now() + (? * interval '1 millisecond') else locked_until end,
         failed_logins = case when failed_logins + 1 >= ? then 0 else failed_logins + 1 end
       where id = ?`,
        [this.maxFailures, this.lockoutMs, this.maxFailures, userId],
        'run',
      );
  }
}
