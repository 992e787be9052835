import { describe, expect, it } from 'vitest';
import { installDebian, type AptRunner } from './debian';

const lockError = () =>
  Object.assign(new Error('Command failed: apt-get update'), {
    stderr: 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 9866 (apt-get)\n',
  });

describe('installDebian', () => {
  it('runs installs asked for at once one after another (two apt-gets at once fail on dpkg’s lock)', async () => {
    let running = 0;
    const calls: string[] = [];
    const apt: AptRunner = async (args) => {
      running++;
      if (running > 1) throw lockError();
      calls.push(args.filter((a) => !a.startsWith('-') && !a.includes('::')).join(' '));
      await new Promise((r) => setTimeout(r, 20));
      running--;
    };
    const problems = await Promise.all([
      installDebian(['chromium'], () => {}, { apt }),
      installDebian(['postgresql-server-dev-15'], () => {}, { apt }),
    ]);
    expect(problems).toEqual([null, null]);
    expect(calls).toEqual(['update', 'install chromium', 'update', 'install postgresql-server-dev-15']);
  });

  it("waits on dpkg's lock: apt's own timeout, then tries again while another process holds it", async () => {
    const seen: string[][] = [];
    let refusals = 2;
    const apt: AptRunner = async (args) => {
      seen.push(args);
      if (args.includes('update') && refusals-- > 0) throw lockError();
    };
    const log: string[] = [];
    expect(await installDebian(['chromium'], (l) => log.push(l), { apt, lockRetryMs: 1 })).toBeNull();
    expect(seen.filter((a) => a.includes('update'))).toHaveLength(3);
    expect(seen.every((a) => a.join(' ').includes('DPkg::Lock::Timeout=300'))).toBe(true);
    expect(log.filter((l) => l.includes('trying again'))).toHaveLength(2);
  });

  it('reports any other failure in one line, at once, and the next install still runs', async () => {
    let tries = 0;
    const broken: AptRunner = async () => {
      tries++;
      throw Object.assign(new Error('failed'), { stderr: 'E: Unable to locate package nope\n' });
    };
    expect(await installDebian(['nope'], () => {}, { apt: broken, lockRetryMs: 1 })).toBe(
      'E: Unable to locate package nope',
    );
    expect(tries).toBe(1);
    expect(await installDebian(['chromium'], () => {}, { apt: async () => {} })).toBeNull();
  });
});
