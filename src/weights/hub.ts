// `kandinsky pull`: a hub repository into the local cache, in huggingface_hub's layout (see hf-cache.ts).
// One call to the revision API pins the commit and lists sizes and digests; then each needed file is
// downloaded once into blobs/ and linked from snapshots/{commit}/. A file already in blobs/ costs no request.
import { mkdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ConfigError, HubError, KandinskyError } from '../errors.js';
import { checkRepoId, checkRevision, hubCacheDir, repoCacheDir, resolveCachedSnapshot } from './hf-cache.js';
import { downloadBlob, type Digest } from './hub-download.js';
import { selectFiles, type HubSibling } from './hub-files.js';
import { hubTimeouts, type HubRequest, type HubTarget, type HubTimeouts } from './hub-http.js';
import { fetchRevision } from './hub-revision.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** One step of a pull, for a progress display. Files are fetched one after another. */
export interface PullProgress {
  /** `start`: a download begins (`bytes` is the part resumed from disk); `data`: bytes arrived; `done`: file in place. */
  event: 'start' | 'data' | 'done';
  /** The path inside the repository, e.g. `unet/diffusion_pytorch_model.safetensors`. */
  file: string;
  /** Bytes of this file on disk. */
  bytes: number;
  /** Size of this file. */
  total: number;
  /** Bytes of all selected files on disk, this one included. */
  bytesAllFiles: number;
  /** Size of all selected files. */
  totalBytesAllFiles: number;
  /** True when the file was already in the cache and nothing was downloaded. */
  cached: boolean;
  /** 1 for the first file of the pull. */
  fileIndex: number;
  fileCount: number;
}

export interface PullOptions {
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Default: hubCacheDir(env). */
  cacheDir?: string;
  /** Default: HF_TOKEN. */
  token?: string;
  /** Weight variant such as `fp16`; components without it get their default weights. */
  variant?: string;
  /**
   * Seconds to open a connection (default KANDINSKY_HUB_CONNECT_TIMEOUT, else 10) and without a byte from the
   * server (default KANDINSKY_HUB_TIMEOUT, else 60). A request that runs out is retried, then the pull fails.
   */
  timeouts?: Partial<HubTimeouts>;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  /** Where HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE, HF_HUB_OFFLINE and KANDINSKY_HUB_* are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Downloads what a pipeline needs from `repoId` (ORG/NAME) and returns the absolute snapshot folder. */
export async function pull(repoId: string, options: PullOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const revision = options.revision ?? 'main';
  const cacheDir = options.cacheDir ?? hubCacheDir(env);
  checkRepoId(repoId);
  checkRevision(revision);
  if (isHubOffline(env)) return offlineSnapshot(repoId, revision, cacheDir);

  const target: HubTarget = {
    repoId,
    revision,
    endpoint: hubEndpoint(options, env),
    token: options.token ?? (env.HF_TOKEN || undefined),
  };
  const request: HubRequest = { timeouts: hubTimeouts(env, options.timeouts), token: target.token, signal: options.signal };
  const { commit, siblings } = await fetchRevision(target, request);
  const files = selectFiles(siblings, options.variant).map((sibling) => announcedFile(sibling, target));
  const repoDir = repoCacheDir(repoId, cacheDir);
  const snapshot = join(repoDir, 'snapshots', commit);
  await mkdir(join(repoDir, 'blobs'), { recursive: true });

  const totalBytesAllFiles = files.reduce((sum, file) => sum + file.size, 0);
  let bytesBefore = 0;
  for (const [index, file] of files.entries()) {
    const report = (event: PullProgress['event'], bytes: number, cached: boolean) =>
      options.onProgress?.({
        event,
        file: file.path,
        bytes,
        total: file.size,
        bytesAllFiles: bytesBefore + bytes,
        totalBytesAllFiles,
        cached,
        fileIndex: index + 1,
        fileCount: files.length,
      });
    const blobPath = join(repoDir, 'blobs', file.blobId);
    const cached = (await stat(blobPath).catch(() => undefined))?.size === file.size;
    if (!cached) {
      let started = false;
      await downloadBlob({
        url: resolveUrl(target, commit, file.path),
        blobPath,
        size: file.size,
        digest: file.digest,
        target: { ...target, file: file.path },
        request,
        onBytes: (bytes) => {
          report(started ? 'data' : 'start', bytes, false);
          started = true;
        },
      });
    }
    await linkSnapshotFile(join(snapshot, file.path), blobPath);
    report('done', file.size, cached);
    bytesBefore += file.size;
  }
  // Written last, so that a branch never points at a half-downloaded snapshot.
  if (revision !== commit) await writeRef(repoDir, revision, commit);
  return snapshot;
}

/** HF_HUB_OFFLINE as huggingface_hub reads it: 1, ON, YES or TRUE in any case. */
export function isHubOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((env.HF_HUB_OFFLINE ?? '').toUpperCase());
}

function offlineSnapshot(repoId: string, revision: string, cacheDir: string): string {
  try {
    return resolveCachedSnapshot(repoId, revision, cacheDir);
  } catch (err) {
    throw new KandinskyError(
      `HF_HUB_OFFLINE is set, so nothing is downloaded, and ${repoId} at revision ${revision} ` +
        `is not in the cache (${cacheDir})`,
      { cause: err },
    );
  }
}

/** The endpoint without trailing slashes, refused unless an http(s) URL. */
function hubEndpoint(options: PullOptions, env: NodeJS.ProcessEnv): string {
  const [endpoint, source] =
    options.endpoint !== undefined ? [options.endpoint, 'the endpoint option'] : [env.HF_ENDPOINT || DEFAULT_ENDPOINT, 'HF_ENDPOINT'];
  const protocol = URL.canParse(endpoint) ? new URL(endpoint).protocol : undefined;
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new ConfigError(`${source} is ${JSON.stringify(endpoint)}, expected an http(s) URL such as ${DEFAULT_ENDPOINT}`);
  }
  return endpoint.replace(/\/+$/, '');
}

/** `{endpoint}/{repo}/resolve/{commit}/{path}`: pinned to the commit, so every file comes from one snapshot. */
function resolveUrl(target: HubTarget, commit: string, path: string): string {
  return `${target.endpoint}/${target.repoId}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

interface AnnouncedFile {
  path: string;
  size: number;
  /** The hub's ETag for the file, which names its blob. */
  blobId: string;
  digest: Digest;
}

/** What the revision API promised about a file (checked by parseRevision); the download is checked against it. */
function announcedFile(sibling: HubSibling, target: HubTarget): AnnouncedFile {
  const path = sibling.rfilename;
  const digest: Digest | undefined = sibling.lfs
    ? { algorithm: 'sha256', expected: sibling.lfs.sha256 }
    : sibling.blobId
      ? { algorithm: 'git-sha1', expected: sibling.blobId }
      : undefined;
  const size = sibling.lfs?.size ?? sibling.size;
  if (digest === undefined || size === undefined) {
    throw new HubError(
      `${target.endpoint} listed ${path} of ${target.repoId} without a size and digest (revision API with ?blobs=true)`,
    );
  }
  return { path, size, blobId: digest.expected, digest };
}

/** `snapshots/{commit}/{path}` -> `../../blobs/{etag}`, relative so that the cache folder can move. */
async function linkSnapshotFile(linkPath: string, blobPath: string): Promise<void> {
  const target = relative(dirname(linkPath), blobPath);
  const existing = await readlink(linkPath).catch(() => undefined);
  if (existing === target) return;
  await mkdir(dirname(linkPath), { recursive: true });
  await rm(linkPath, { force: true });
  await symlink(target, linkPath);
}

async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const refPath = join(repoDir, 'refs', revision);
  await mkdir(dirname(refPath), { recursive: true });
  await writeFile(refPath, commit);
}
