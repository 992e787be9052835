import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { streamed } from '../lib/temporal/cli';
import { cacheRoot, executable } from './tools';

/**
 * The validators of test/deployment-files.test.ts, acquired offline and cached per user the way the Temporal CLI is
 * (lib/temporal/cli.ts): found, else built once with `go install`/`go build` from the Go module proxy into
 * `~/.cache/beyondcloud/` (XDG_CACHE_HOME respected), written to a temporary folder and renamed into place.
 *
 * - kustomize: the real one (sigs.k8s.io/kustomize/kustomize/v5), pinned, so `kustomize build infra/k8s` renders
 *   exactly what `kubectl apply -k` and the pipeline's overlays apply (configMapGenerator hash, namespace, labels).
 *   v5.8.2 is the newest release whose go.mod this machine's Go (1.26) accepts; v5.8.3 wants Go 1.27.
 * - compose-check (infra/compose-check): compose-go's loader, the library docker compose is built on; built from the
 *   committed go.mod/go.sum, cached under a hash of its sources.
 * - Kubernetes schemas: the npm package kubernetes-models (bundled JSON schemas of a recent Kubernetes, compiled
 *   validators, no network), plus a strict-field check through its TypeScript declarations (see fieldProblems).
 *   kubeconform was the alternative; it needs the schemas vendored (megabytes for these kinds) or fetched.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

export const KUSTOMIZE_VERSION = '5.8.2';

async function output(bin: string, args: string[]): Promise<string | null> {
  try {
    return (await run(bin, args, { timeout: 30_000 })).stdout.trim();
  } catch {
    return null;
  }
}

/** Builds into a staging folder of `dir`, then renames the one binary into place (concurrent first runs are safe). */
async function buildInto(
  dir: string,
  name: string,
  build: (gobin: string) => Promise<void>,
  fix: string,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const staging = await mkdtemp(join(dir, '.build-'));
  try {
    await build(staging);
    await rename(join(staging, name), join(dir, name));
    return join(dir, name);
  } catch (e) {
    throw new Error(`${name} could not be built (${(e as Error).message.split('\n')[0]}); run ${fix}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

const goEnv = (env: NodeJS.ProcessEnv, extra: Record<string, string> = {}) => ({
  ...env,
  CGO_ENABLED: env.CGO_ENABLED ?? '0',
  ...extra,
});

/** KUSTOMIZE_BIN, else `kustomize` on PATH at the pinned version, else the cache, else `go install` into it. */
export async function acquireKustomize(
  env: NodeJS.ProcessEnv = process.env,
  log: (l: string) => void = () => {},
): Promise<string> {
  if (env.KUSTOMIZE_BIN) return env.KUSTOMIZE_BIN;
  const pinned = (v: string | null) => v === `v${KUSTOMIZE_VERSION}`;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'kustomize');
    if ((await executable(candidate)) && pinned(await output(candidate, ['version']))) return candidate;
  }
  const dir = join(cacheRoot(env), 'kustomize', `v${KUSTOMIZE_VERSION}`);
  const cached = join(dir, 'kustomize');
  if (pinned(await output(cached, ['version']))) return cached;
  const module = `sigs.k8s.io/kustomize/kustomize/v5@v${KUSTOMIZE_VERSION}`;
  log(`building kustomize ${KUSTOMIZE_VERSION} with go install (about 2 minutes the first time) ...`);
  return buildInto(
    dir,
    'kustomize',
    (gobin) => streamed('go', ['install', module], goEnv(env, { GOBIN: gobin }), log),
    `GOBIN=${dir} go install ${module} (or set KUSTOMIZE_BIN)`,
  );
}

export const COMPOSE_CHECK_DIR = join(root, 'infra', 'compose-check');

/**
 * A Go program of this repository (a folder with its go.mod, go.sum and .go files), built with `go build` into the
 * cache once per version of those sources (their names and contents); returns the binary's path.
 */
export async function acquireGoProgram(
  moduleDir: string,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  log: (l: string) => void = () => {},
): Promise<string> {
  const hash = createHash('sha256');
  const sources = readdirSync(moduleDir).filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'));
  for (const f of sources.sort()) {
    const bytes = readFileSync(join(moduleDir, f));
    hash.update(`${f}\0${bytes.length}\0`).update(bytes);
  }
  const dir = join(cacheRoot(env), name, hash.digest('hex').slice(0, 16));
  const cached = join(dir, name);
  if (await executable(cached)) return cached;
  log(`building ${relative(root, moduleDir)} with go build (once per change of its sources) ...`);
  return buildInto(
    dir,
    name,
    // `go -C` runs the build in the module's own folder (its go.mod and go.sum).
    (out) => streamed('go', ['-C', moduleDir, 'build', '-trimpath', '-o', join(out, name), '.'], goEnv(env), log),
    `cd ${relative(root, moduleDir)} && CGO_ENABLED=0 go build -trimpath -o ${cached} .`,
  );
}

/** The compose-check program, built from infra/compose-check once per version of its sources. */
export const acquireComposeCheck = (env: NodeJS.ProcessEnv = process.env, log: (l: string) => void = () => {}) =>
  acquireGoProgram(COMPOSE_CHECK_DIR, 'compose-check', env, log);

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * Parses Kubernetes YAML as the API machinery does (sigs.k8s.io/yaml is YAML 1.1: `0440` is octal, i.e. 288).
 * Throws on a YAML error.
 */
export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
      return doc.toJS({ maxAliasCount: -1 }) as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** `kustomize build DIR`, parsed. Throws with kustomize's own error line. */
export async function kustomizeBuild(bin: string, dir: string): Promise<K8sObject[]> {
  try {
    const { stdout } = await run(bin, ['build', dir], { timeout: 60_000, maxBuffer: 64 << 20 });
    return parseManifests(stdout);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`kustomize build ${dir}: ${(err.stderr || err.message).trim()}`);
  }
}

export type ComposeResult = { ok: true; project: ComposeProject } | { ok: false; error: string };
export interface ComposeProject {
  name: string;
  services: Record<
    string,
    {
      image?: string;
      restart?: string;
      entrypoint?: string[] | null;
      command?: string[] | null;
      depends_on?: Record<string, { condition: string; required: boolean }>;
      healthcheck?: { test?: string[]; disable?: boolean };
      volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>;
      ports?: Array<{ host_ip?: string; target: number; published?: string }>;
      environment?: Record<string, string | null>;
    }
  >;
  volumes?: Record<string, unknown>;
}

/** Runs compose-check on the files; `ok: false` carries its one error line. */
export async function composeCheck(bin: string, files: string[]): Promise<ComposeResult> {
  try {
    // A clean environment: interpolation sees only the defaults written in the file.
    const { stdout } = await run(bin, files, { timeout: 60_000, maxBuffer: 64 << 20, env: { PATH: '' } });
    return { ok: true, project: JSON.parse(stdout) as ComposeProject };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, error: (err.stderr || err.message).trim() };
  }
}

/** `kubernetes-models/<group>/<version>/<Kind>` for an object's apiVersion and kind (core: `kubernetes-models/v1`). */
const modelModule = (o: K8sObject) => `kubernetes-models/${o.apiVersion}/${o.kind}`;
const label = (o: K8sObject) => `${o.kind}/${o.metadata?.name ?? '?'}`;

/**
 * The Kubernetes JSON schema of each object's kind (kubernetes-models' compiled validators): types, required fields,
 * enums, formats (int32, int-or-string, quantities). One line per object that fails; an unknown kind is a problem.
 */
export async function schemaProblems(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    let Model: (new (data: unknown) => { validate(): void }) | undefined;
    try {
      const mod = (await import(modelModule(o))) as Record<string, new (data: unknown) => { validate(): void }>;
      Model = mod[o.kind];
    } catch {
      // reported below
    }
    if (!Model) {
      problems.push(`${label(o)}: no schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (e) {
      problems.push(`${label(o)}: ${(e as Error).message}`);
    }
  }
  return problems;
}

/**
 * Unknown fields, which the schemas allow but the API server rejects (kubectl's default `--validate=strict`): each
 * object is type-checked as an object literal of its kind's TypeScript interface (kubernetes-models' declarations,
 * generated from the same OpenAPI document), so TypeScript's excess-property check reports a misspelled field at any
 * depth, with its path. Wrong types show up here too. One line per problem.
 */
export function fieldProblems(objects: K8sObject[]): string[] {
  const file = join(root, 'test', '.deployment-fields.ts'); // virtual; inside the repository so node_modules resolves
  const imports = objects.map((o, i) => `import type { I${o.kind} as T${i} } from '${modelModule(o)}';`);
  const first = imports.length;
  const source = [...imports, ...objects.map((o, i) => `export const o${i}: T${i} = ${JSON.stringify(o)};`)].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile: read } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang, true) : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : read.call(host, name));
  const program = ts.createProgram([file], options, host);
  const sf = program.getSourceFile(file)!;
  return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map((d) => {
    const { line } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (line < first) return `${label(objects[line]!)}: ${message}`;
    return `${label(objects[line - first]!)}: ${pathAt(sf, d.start ?? 0)}: ${message}`;
  });
}

/** The JSON path (spec.template.spec.containers[0]...) of the literal at `pos`, for the error line. */
function pathAt(sf: ts.SourceFile, pos: number): string {
  let node: ts.Node = sf;
  for (;;) {
    const child: ts.Node | undefined = node.forEachChild((c) => (c.getStart(sf) <= pos && pos < c.end ? c : undefined));
    if (!child) break;
    node = child;
  }
  const parts: string[] = [];
  for (let n: ts.Node | undefined = node; n && !ts.isVariableDeclaration(n); n = n.parent) {
    if (ts.isPropertyAssignment(n)) parts.unshift(`.${(n.name as ts.StringLiteral).text}`);
    else if (n.parent && ts.isArrayLiteralExpression(n.parent))
      parts.unshift(`[${n.parent.elements.indexOf(n as ts.Expression)}]`);
  }
  return parts.join('').replace(/^\./, '') || '(object)';
}

/** `VARIABLE=value` lines of an env file; with `commented`, also the `# VARIABLE=value` examples. */
export async function readEnvFile(path: string, commented = false): Promise<Map<string, string>> {
  const vars = new Map<string, string>();
  const pattern = commented ? /^#\s*([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/;
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const m = pattern.exec(line.trim());
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}
