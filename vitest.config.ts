import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    teardownTimeout: 60_000,
    projects: [
      {
        // Platform tests: one real Temporal dev server and one embedded Postgres for the run (test/global-setup.ts).
        test: {
          name: 'platform',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', 'ui/**', '.data/**', 'dist/**'],
          globalSetup: ['test/global-setup.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 240_000,
        },
      },
      // Console unit tests (components rendered with Vue SSR, in Node).
      './ui/vitest.config.ts',
    ],
  },
});
