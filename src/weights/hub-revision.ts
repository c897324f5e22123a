// The revision API's answer (DESIGN.md, "The hub, as `pull` sees it"), checked field by field before anything in
// it is used: the commit names a folder of the cache, every rfilename a path inside it, sizes cap the downloads.
import { showJson } from '../config/index.js';
import { HubError } from '../errors.js';
import { isCommitHash } from './hf-cache.js';
import type { HubSibling } from './hub-files.js';
import { hubGet, hubStatusError, readJson, withRetries, type HubRequest, type HubTarget } from './hub-http.js';

// A repository with a hundred thousand files lists a few tens of megabytes.
const MAX_REVISION_BYTES = 64 * 1024 * 1024;
const GIT_OID = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export interface RevisionInfo {
  commit: string;
  siblings: HubSibling[];
}

/** `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true`, retried while the network fails. */
export async function fetchRevision(target: HubTarget, request: HubRequest): Promise<RevisionInfo> {
  const { repoId, revision, endpoint } = target;
  const url = `${endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const json = await withRetries(`reading revision ${revision} of ${repoId} (${url})`, request.signal, async () => {
    const response = await hubGet(url, request);
    if (response.status < 200 || response.status >= 300) {
      response.discard();
      throw hubStatusError(response, target);
    }
    return readJson(response, MAX_REVISION_BYTES, `the revision API's answer for ${repoId}`);
  });
  return parseRevision(json, url);
}

/** The commit and the siblings of a revision API answer, refused unless every field has its documented type. */
export function parseRevision(json: unknown, url: string): RevisionInfo {
  if (!isObject(json)) throw new HubError(`${url}: expected a JSON object with "sha" and "siblings", got ${showJson(json)}; is this a hub?`);
  if (typeof json.sha !== 'string' || !isCommitHash(json.sha)) {
    throw new HubError(`${url}: "sha" is ${showJson(json.sha)}, expected a 40-hex commit id`);
  }
  if (!Array.isArray(json.siblings)) throw new HubError(`${url}: "siblings" is ${showJson(json.siblings)}, expected an array`);
  return { commit: json.sha, siblings: json.siblings.map((entry, i) => parseSibling(entry, `${url}: siblings[${i}]`)) };
}

function parseSibling(entry: unknown, where: string): HubSibling {
  if (!isObject(entry)) throw new HubError(`${where} is ${showJson(entry)}, expected an object`);
  const { rfilename, size, blobId, lfs } = entry;
  if (typeof rfilename !== 'string') throw new HubError(`${where}.rfilename is ${showJson(rfilename)}, expected a path string`);
  checkRepoPath(rfilename, `${where}.rfilename`);
  const at = `${where} (${rfilename})`;
  const sibling: HubSibling = { rfilename };
  if (size !== undefined) sibling.size = checkSize(size, `${at}.size`);
  if (blobId !== undefined) {
    if (typeof blobId !== 'string' || !GIT_OID.test(blobId)) throw new HubError(`${at}.blobId is ${showJson(blobId)}, expected a 40-hex git object id`);
    sibling.blobId = blobId;
  }
  if (lfs !== undefined && lfs !== null) {
    if (!isObject(lfs)) throw new HubError(`${at}.lfs is ${showJson(lfs)}, expected an object`);
    if (typeof lfs.sha256 !== 'string' || !SHA256.test(lfs.sha256)) {
      throw new HubError(`${at}.lfs.sha256 is ${showJson(lfs.sha256)}, expected a 64-hex sha256`);
    }
    sibling.lfs = { sha256: lfs.sha256, size: checkSize(lfs.size, `${at}.lfs.size`) };
    if (sibling.size !== undefined && sibling.size !== sibling.lfs.size) {
      throw new HubError(`${at}: size ${sibling.size} and lfs.size ${sibling.lfs.size} disagree`);
    }
  }
  return sibling;
}

/** A path from the network becomes a path under the snapshot folder: it must stay inside it. */
function checkRepoPath(path: string, where: string): void {
  const parts = path.split('/');
  if (path.includes('\\') || path.includes('\0') || parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new HubError(
      `${where} is ${JSON.stringify(path)}, which would leave the snapshot folder; ` +
        `expected a relative path of "/"-separated names, without "..", "." or backslashes`,
    );
  }
}

function checkSize(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new HubError(`${where} is ${showJson(value)}, expected a number of bytes (a non-negative integer)`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
