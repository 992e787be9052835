import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import pluginVue from 'eslint-plugin-vue';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'ui/dist/**', 'ui/.vite/**', '.data/**', 'dist/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', 'ui/**/*.vue'],
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: {
          // The console's Vite/Vitest configs sit outside ui/tsconfig.json (they have ui/tsconfig.node.json).
          allowDefaultProject: ['ui/vite.config.ts', 'ui/vitest.config.ts'],
          defaultProject: 'ui/tsconfig.node.json',
        },
        tsconfigRootDir: import.meta.dirname,
        extraFileExtensions: ['.vue'],
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The console: single-file components parsed by vue-eslint-parser, their <script setup lang="ts"> by typescript-eslint.
  ...pluginVue.configs['flat/recommended'].map((config) => ({ ...config, files: ['ui/**/*.vue'] })),
  {
    files: ['ui/**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
    // The same core-rule adjustments typescript-eslint makes for .ts (no-undef etc. are the compiler's job, vue-tsc here).
    rules: tseslint.configs.eslintRecommended.rules,
  },
  {
    // Layout belongs to the formatter (STYLE.md: Prettier), not to lint warnings.
    files: ['ui/**/*.vue'],
    rules: pluginVue.configs['no-layout-rules'].rules,
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node APIs, and nothing from lib/ but contracts.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code cannot use Node built-ins.' })),
          patterns: [
            {
              regex: '^(\\.\\./)+(lib/(?!contracts)|activities|api|workers|test|bench|scripts)',
              message: 'Workflows import only @temporalio/workflow, lib/contracts and type-only activity imports.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
