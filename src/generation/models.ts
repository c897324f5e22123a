import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../files/index.js';
import { defaultModelCacheDir } from '../onnx/index.js';
import { priorFor } from '../pipelines/index.js';
import { isHubOffline, loadCheckpoint, pull, resolveModelPath, type PullProgress } from '../weights/index.js';

export interface FindModelOptions {
  readonly revision?: string;
  readonly variant?: string;
  /** The flag or field that named the model, for messages (`--model`). */
  readonly what: string;
  readonly onPullProgress?: (p: PullProgress) => void;
  readonly signal?: AbortSignal;
}

/** Where a model came from, as an output's parameters record it. */
export interface ModelSource {
  /** The repo id, or the folder as given. */
  readonly id: string;
  /** The commit of a Hugging Face cache snapshot. */
  readonly revision?: string;
  /** sha256 of a local folder's weight files (in name order), when it is not a cache snapshot. */
  readonly weightsSha256?: string;
}

export interface FoundModel {
  readonly dir: string;
  readonly source: ModelSource;
}

const REPO_ID = /^[\w.-]+\/[\w.-]+$/;

/**
 * A model folder from what the user wrote: a folder, a repo in the Hugging Face cache, or (unless
 * HF_HUB_OFFLINE=1) a repo pulled from the hub with its progress shown.
 */
export async function findModel(spec: string, o: FindModelOptions): Promise<FoundModel> {
  if (existsSync(spec) && statSync(spec).isDirectory()) return { dir: resolve(spec), source: { id: resolve(spec) } };
  if (!REPO_ID.test(spec)) throw new ConfigError(`${o.what}: no model folder at ${resolve(spec)}, and "${spec}" is not a hub repo id (ORG/NAME)`);
  try {
    return fromSnapshot(spec, resolveModelPath(spec, { revision: o.revision }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (isHubOffline()) {
      throw new ConfigError(`${o.what}: ${spec} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; run \`kandinsky pull ${spec}\` online, or pass a model folder to ${o.what}`);
    }
  }
  return fromSnapshot(spec, await pull(spec, { revision: o.revision, variant: o.variant, onProgress: o.onPullProgress, signal: o.signal }));
}

function fromSnapshot(id: string, dir: string): FoundModel {
  return { dir, source: { id, revision: dir.split(/[\\/]/).pop() } };
}

/** The decoder's prior: `--prior` when given, else what its card names (a sibling folder, the cache or the hub). */
export async function findPrior(decoderDir: string, given: string | undefined, o: FindModelOptions): Promise<FoundModel> {
  if (given !== undefined) return findModel(given, o);
  const { folder, repoId } = priorFor(decoderDir);
  if (folder) return { dir: folder, source: { id: folder } };
  return findModel(repoId, { ...o, what: `the prior named by ${join(decoderDir, 'README.md')} (${repoId}; or pass --prior)` });
}

/**
 * sha256 over a local folder's weight files (each component's, in name order), cached by the files' identity
 * so that it is read once: the record a local model leaves in an output's parameters.
 */
export async function weightsSha256(dir: string, components: readonly string[]): Promise<string> {
  const files = components
    .filter((c) => existsSync(join(dir, c)))
    .flatMap((c) => [...new Set([...loadCheckpoint(join(dir, c)).tensors.values()].map((t) => t.file))].sort());
  const cachePath = join(dirname(defaultModelCacheDir()), 'weight-hashes.json');
  let cache: Record<string, string> = {};
  try {
    cache = JSON.parse(readFileSync(cachePath, 'utf8')) as Record<string, string>;
  } catch {
    // No cache yet.
  }
  const h = createHash('sha256');
  let changed = false;
  for (const file of files) {
    const st = statSync(file);
    const key = `${file}:${st.size}:${st.mtimeMs}:${st.ino}`;
    if (!cache[key]) {
      cache[key] = await fileSha256(file);
      changed = true;
    }
    h.update(cache[key]);
  }
  if (changed) {
    try {
      mkdirSync(dirname(cachePath), { recursive: true });
      writeFileAtomic(cachePath, Buffer.from(JSON.stringify(cache)));
    } catch {
      // A read-only cache only costs the hashing next time.
    }
  }
  return h.digest('hex');
}

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
