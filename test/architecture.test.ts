import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/**
 * The layering rules of docs/architecture.md, checked on every import of the source tree: a layer imports only the
 * layers below it. Tests and benchmarks may import anything.
 */
const root = fileURLToPath(new URL('..', import.meta.url));

type Rule = { may: string[]; typeOnly?: string[] };
const rules: Record<string, Rule> = {
  'lib/contracts': { may: ['lib/contracts'] }, // workflow-safe: nothing else of ours, no Node modules
  lib: { may: ['lib'] },
  activities: { may: ['activities', 'lib'] },
  workflows: { may: ['workflows', 'lib/contracts'], typeOnly: ['activities'] },
  api: { may: ['api', 'lib', 'workflows'] }, // workflows: the functions runs are started with; query, signal and update definitions
  workers: { may: ['workers', 'lib', 'activities', 'workflows'] },
  scripts: { may: ['scripts', 'bin', 'lib', 'api', 'workers', 'activities', 'workflows'] },
  bin: { may: ['bin', 'lib'] },
  'ui/src': { may: ['ui'], typeOnly: ['lib/contracts'] },
};
const layerOf = (path: string) => Object.keys(rules).find((l) => path === l || path.startsWith(`${l}/`)) ?? null;
const within = (path: string, prefixes: string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return /\.(ts|vue)$/.test(name) && !/\.test\.ts$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const importPattern = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;
const nodeBuiltin = /^node:/;

it('every import goes down the layers (docs/architecture.md)', () => {
  const files = [
    ...Object.keys(rules)
      .filter((l) => !l.includes('/') || l === 'ui/src')
      .flatMap((l) => sources(l)),
  ];
  expect(files.length).toBeGreaterThan(100);
  const violations: string[] = [];
  for (const file of files) {
    const layer = layerOf(file)!;
    const rule = rules[layer]!;
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(importPattern)) {
      const [, , typeOnly, spec] = m as unknown as [string, string, string | undefined, string];
      if (layer === 'lib/contracts' && nodeBuiltin.test(spec))
        violations.push(`${file}: imports ${spec} (contracts are workflow-safe)`);
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(root, dirname(file), spec));
      if (within(target, rule.may) || (typeOnly && within(target, rule.typeOnly ?? []))) continue;
      violations.push(`${file}: ${typeOnly ? 'import type' : 'imports'} ${target}`);
    }
  }
  expect(violations).toEqual([]);
});
