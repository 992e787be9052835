import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests for the console, in Node, components rendered with SSR. `npm test` runs them as the `console` project
 * of the root vitest config; alone: `npx vitest run --config ui/vitest.config.ts`.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  cacheDir: fileURLToPath(new URL('./.vite', import.meta.url)),
  plugins: [vue()],
  test: { name: 'console', include: ['src/**/*.test.ts'], environment: 'node' },
});
