// The Hugging Face hub cache, laid out exactly as huggingface_hub lays it out, so that a model pulled by
// Python is found here and the other way round (see DESIGN.md, "The hub, as `pull` sees it"):
//   {cache}/models--{org}--{name}/blobs/{etag}            file contents, named by the hub's ETag
//   {cache}/models--{org}--{name}/snapshots/{commit}/...  relative symlinks into blobs/
//   {cache}/models--{org}--{name}/refs/{revision}         the commit a branch or tag pointed to
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';

const COMMIT_HASH = /^[0-9a-f]{40}$/;
// `--` separates org and name in the cache folder name, so the hub forbids it inside either.
const REPO_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** True for a full 40-hex git commit id; anything else is a branch or tag name. */
export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/** The hub cache folder: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (as huggingface_hub). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const hubCache = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (hubCache) return resolve(expandHome(hubCache));
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return resolve(expandHome(hfHome), 'hub');
}

/** Throws unless `repoId` is a hub model id such as `kandinsky-community/kandinsky-2-2-decoder`. */
export function checkRepoId(repoId: string): void {
  if (!REPO_ID.test(repoId) || repoId.includes('--') || repoId.includes('..')) {
    throw new ConfigError(
      `"${repoId}" is not a hub repository id (expected ORG/NAME, e.g. kandinsky-community/kandinsky-2-2-decoder)`,
    );
  }
}

/** `{cacheDir}/models--{org}--{name}`: where one repository's blobs, snapshots and refs live. */
export function repoCacheDir(repoId: string, cacheDir: string = hubCacheDir()): string {
  checkRepoId(repoId);
  return join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

/** Throws unless `revision` names a ref without climbing out of `refs/` (a branch may hold slashes: `refs/pr/1`). */
export function checkRevision(revision: string): void {
  if (revision === '' || isAbsolute(revision) || revision.split(/[\\/]/).some((part) => part === '..' || part === '')) {
    throw new ConfigError(`"${revision}" is not a revision (expected a branch, a tag or a 40-hex commit)`);
  }
}

/**
 * The absolute snapshot folder of `repoId` at `revision` (a branch/tag read through `refs/`, or a commit),
 * without touching the network.
 */
export function resolveCachedSnapshot(repoId: string, revision = 'main', cacheDir: string = hubCacheDir()): string {
  checkRevision(revision);
  const repoDir = repoCacheDir(repoId, cacheDir);
  const commit = isCommitHash(revision) ? revision : readRef(repoDir, revision);
  const snapshot = commit === undefined ? undefined : join(repoDir, 'snapshots', commit);
  if (snapshot === undefined || !isDirectory(snapshot)) {
    const pullHint = revision === 'main' ? repoId : `${repoId} --revision ${revision}`;
    throw new ConfigError(
      `${repoId} at revision ${revision} is not in the Hugging Face cache (${cacheDir}); ` +
        `download it with \`kandinsky pull ${pullHint}\``,
    );
  }
  return snapshot;
}

export interface ModelPathOptions {
  revision?: string;
  cacheDir?: string;
}

/** A model given on the command line or in code: a local folder as is, otherwise a hub repo id looked up in the cache. */
export function resolveModelPath(spec: string, options: ModelPathOptions = {}): string {
  if (isDirectory(spec)) return resolve(spec);
  if (!REPO_ID.test(spec)) {
    throw new ConfigError(`no model folder at ${resolve(spec)}, and "${spec}" is not a hub repository id (ORG/NAME)`);
  }
  return resolveCachedSnapshot(spec, options.revision, options.cacheDir);
}

/**
 * The blobs folder of the cached repository whose snapshot holds `realPath` (a path with its links resolved:
 * `{cache}/models--{org}--{name}/snapshots/{commit}/...`): where that snapshot's links may lead. Undefined
 * for a path outside any snapshot.
 */
export function snapshotBlobsDir(realPath: string): string | undefined {
  const parts = realPath.split(sep);
  for (let i = parts.length - 3; i >= 0; i--) {
    if (parts[i].startsWith('models--') && parts[i + 1] === 'snapshots' && parts[i + 2] !== '') {
      return join(parts.slice(0, i + 1).join(sep) || sep, 'blobs');
    }
  }
  return undefined;
}

function readRef(repoDir: string, revision: string): string | undefined {
  try {
    return readFileSync(join(repoDir, 'refs', revision), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}
