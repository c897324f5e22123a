// One file from the hub into `blobs/{etag}`: streamed to `{etag}.incomplete` (weights are up to 5 GB and are
// never held in memory), resumed with a Range request when a partial file exists, and renamed into place only
// after its size and digest match what the revision API announced.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { HubError, WeightsError } from '../errors.js';
import { hubGet, hubStatusError, readBody, withRetries, type HubRequest, type HubResponse, type HubTarget } from './hub-http.js';

/** How the content is checked: LFS files by their sha256, git files by their git blob id (sha1). */
export interface Digest {
  algorithm: 'sha256' | 'git-sha1';
  expected: string;
}

export interface BlobDownload {
  url: string;
  blobPath: string;
  /** The size the revision API announced: the body is cut off, and refused, beyond it. */
  size: number;
  digest: Digest;
  target: HubTarget & { file: string };
  request: HubRequest;
  /** Called with the bytes of this file on disk: once when the transfer starts (the resumed part), then per chunk. */
  onBytes: (bytes: number) => void;
}

/** Downloads into `blobPath`, retrying cut connections from where they stopped. */
export async function downloadBlob(download: BlobDownload): Promise<void> {
  const incomplete = `${download.blobPath}.incomplete`;
  const { file, repoId } = download.target;
  const actual = await withRetries(
    `downloading ${file} of ${repoId}`,
    download.request.signal,
    () => fetchRemainder(download, incomplete),
    '; run the pull again to resume',
  );
  await verify(download, incomplete, actual);
  await rename(incomplete, download.blobPath);
}

/** Brings `incomplete` to its full size and returns the digest of the whole file. */
async function fetchRemainder(download: BlobDownload, incomplete: string): Promise<string> {
  let offset = (await stat(incomplete).catch(() => undefined))?.size ?? 0;
  if (offset > download.size) {
    await rm(incomplete);
    offset = 0;
  }
  const hash = startDigest(download);
  if (offset === download.size) {
    // A previous run received every byte but stopped before the rename.
    await hashFile(incomplete, hash);
    download.onBytes(offset);
    return hash.digest('hex');
  }
  // Byte offsets must count the stored bytes, not a compressed transfer of them.
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const response = await hubGet(download.url, download.request, headers);
  if (response.status < 200 || response.status >= 300) {
    response.discard();
    throw hubStatusError(response, download.target);
  }
  checkLinkedSize(response, download);
  if (response.status === 206) {
    checkContentRange(response, offset, download);
  } else {
    offset = 0; // The server ignored the Range header and sends the whole file.
  }
  if (offset > 0) await hashFile(incomplete, hash);
  download.onBytes(offset);
  let received = offset;
  const { file, repoId } = download.target;
  const body = readBody(response, download.size - offset, `${file} of ${repoId} (${download.size} bytes announced)`);
  await appendBody(body, incomplete, offset > 0, (chunk) => {
    hash.update(chunk);
    received += chunk.length;
    download.onBytes(received);
  });
  return hash.digest('hex');
}

/**
 * Streams `body` into `path` with backpressure. Unlike pipeline(), a failing body does not throw away
 * the chunks still queued for the disk: every byte received is kept for the retry to resume after.
 */
async function appendBody(
  body: AsyncIterable<Uint8Array>,
  path: string,
  append: boolean,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  const file = createWriteStream(path, { flags: append ? 'a' : 'w' });
  const written = finished(file);
  written.catch(() => {}); // Awaited below; this keeps a disk error from counting as unhandled meanwhile.
  try {
    for await (const chunk of body) {
      if (file.errored) break; // A full disk: stop downloading, the await below throws its error.
      onChunk(chunk);
      if (!file.write(chunk)) await once(file, 'drain');
    }
  } finally {
    file.end();
    await written;
  }
}

/** A 206 must carry exactly the rest of the file: from `offset` to the announced end. */
function checkContentRange(response: HubResponse, offset: number, download: BlobDownload): void {
  const value = response.header('content-range');
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value ?? '');
  const size = download.size;
  if (range === null || Number(range[1]) !== offset || Number(range[2]) !== size - 1 || (range[3] !== '*' && Number(range[3]) !== size)) {
    response.discard();
    throw new HubError(
      `asked ${response.url} for ${download.target.file} of ${download.target.repoId} from byte ${offset}, ` +
        `expected Content-Range "bytes ${offset}-${size - 1}/${size}", got ${JSON.stringify(value ?? null)}`,
    );
  }
}

/** The hub's redirect names the size of an LFS file too; it must be the one the revision API announced. */
function checkLinkedSize(response: HubResponse, download: BlobDownload): void {
  if (response.linkedSize === undefined || Number(response.linkedSize) === download.size) return;
  response.discard();
  throw new HubError(
    `${download.target.file} of ${download.target.repoId}: the hub's redirect announces X-Linked-Size ${response.linkedSize}, ` +
      `the revision API ${download.size} bytes`,
  );
}

/** Deletes the download and throws unless its size and digest are the announced ones. */
async function verify(download: BlobDownload, incomplete: string, actual: string): Promise<void> {
  const { file, repoId } = download.target;
  const size = (await stat(incomplete)).size;
  const problem =
    size !== download.size
      ? `has ${size} bytes, expected ${download.size}`
      : actual !== download.digest.expected
        ? `has ${download.digest.algorithm} ${actual}, expected ${download.digest.expected}`
        : undefined;
  if (problem === undefined) return;
  await rm(incomplete, { force: true });
  throw new WeightsError(`download of ${file} from ${repoId} is corrupt: it ${problem}; the bad copy was deleted`);
}

function startDigest(download: BlobDownload): Hash {
  if (download.digest.algorithm === 'sha256') return createHash('sha256');
  // A git blob id is the sha1 of "blob {size}\0" followed by the content.
  return createHash('sha1').update(`blob ${download.size}\0`);
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}
