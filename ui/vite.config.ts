import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const api = 'http://127.0.0.1:8080';
const proxy = { '/v1': api, '/healthz': api, '/readyz': api };

/** The console is built into ui/dist, which the API serves at `/` with an SPA fallback. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // Keep Vite's dev cache inside ui/ rather than the backend's node_modules.
  cacheDir: fileURLToPath(new URL('./.vite', import.meta.url)),
  plugins: [vue()],
  // Scan only the app's entry, never a previous build in dist/.
  optimizeDeps: { entries: ['index.html'] },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true, proxy },
  preview: { host: '127.0.0.1', port: 4173, proxy },
});
