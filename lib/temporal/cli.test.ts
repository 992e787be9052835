import { chmod, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { acquireTemporalCli, TEMPORAL_CLI_VERSION, TemporalCliNotFound } from './cli';

/** A stand-in `temporal` that only reports a version, to test the order in which CLIs are looked for. */
async function fakeCli(dir: string, version: string) {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'temporal');
  await writeFile(path, `#!/bin/sh\necho "temporal version ${version}"\n`);
  await chmod(path, 0o755);
  return path;
}

describe('acquireTemporalCli', () => {
  it('uses TEMPORAL_CLI_PATH as given, and names it when it is not runnable', async () => {
    const real = inject('temporalCliPath');
    expect(await acquireTemporalCli({ explicitPath: real, cacheDir: '/nonexistent' })).toBe(real);
    await expect(acquireTemporalCli({ explicitPath: '/nope/temporal', cacheDir: '/nonexistent' })).rejects.toThrow(
      'TEMPORAL_CLI_PATH=/nope/temporal: not runnable',
    );
  });

  it('takes `temporal` on PATH only at the pinned version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-'));
    const pinned = await fakeCli(join(dir, 'good'), `${TEMPORAL_CLI_VERSION} (Server 1.29.1, UI 2.42.1)`);
    await fakeCli(join(dir, 'old'), '1.1.0 (Server 1.26.2, UI 2.34.0)');
    const cacheDir = join(dir, 'cache');
    expect(await acquireTemporalCli({ cacheDir, env: { PATH: join(dir, 'good') }, skip: ['go', 'download'] })).toBe(
      pinned,
    );

    const error = await acquireTemporalCli({
      cacheDir,
      env: { PATH: join(dir, 'old') },
      skip: ['go', 'download'],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporalCliNotFound);
    const tried = (error as TemporalCliNotFound).tried;
    expect(tried[0]).toContain('1.1.0');
    expect(tried[1]).toContain(`cache: ${join(cacheDir, `v${TEMPORAL_CLI_VERSION}`, 'temporal')} absent`);
  });

  it('finds a go-installed CLI (version 0.0.0-DEV) in the per-user cache', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'cli-cache-'));
    await mkdir(join(cacheDir, `v${TEMPORAL_CLI_VERSION}`));
    const cached = join(cacheDir, `v${TEMPORAL_CLI_VERSION}`, 'temporal');
    await symlink(inject('temporalCliPath'), cached);
    expect(await acquireTemporalCli({ cacheDir, env: { PATH: '' }, skip: ['go', 'download'] })).toBe(cached);
  });

  it('names every route it tried when none works', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'cli-none-'));
    const error = (await acquireTemporalCli({ cacheDir, env: { PATH: '' }, skip: ['download'] }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(TemporalCliNotFound);
    // With an empty PATH, `go` itself cannot be found: the go route fails and says so.
    expect(error.message).toMatch(/PATH: no temporal[\s\S]*cache: [\s\S]*go install: /);
  });
});
