// A Hugging Face hub on 127.0.0.1 for tests: each folder under `root` is the repository `{org}/{folder}`,
// served in the hub's URL layout (revision API, resolve, LFS files redirected to a CDN on another origin),
// with faults to inject: a connection cut mid-file, corrupted bytes, a server that ignores Range, and the ways a
// hostile or broken hub misbehaves (silence, bodies longer than announced, malformed answers, redirect loops).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';
import { modelsDir } from './fixtures.js';

export interface HubServerOptions {
  /** Folder whose sub-folders are the repositories; default the tiny-kandinsky fixtures. */
  root?: string;
  /** Default `kandinsky-community`. */
  org?: string;
  /** When set, the API and resolve answer 401 unless `Authorization: Bearer {token}` is sent. */
  token?: string;
  /** Files a repository has beyond its folder, by repo id then path (e.g. a `.bin` beside a `.safetensors`). */
  extraFiles?: Record<string, Record<string, Buffer>>;
}

export interface LoggedRequest {
  method: string;
  /** Path and query. */
  url: string;
  /** `cdn` for the origin that LFS files are redirected to. */
  origin: 'hub' | 'cdn';
  range?: string;
  authorization?: string;
}

export interface HubServer {
  endpoint: string;
  requests: LoggedRequest[];
  /** The fake commit every revision of the repository resolves to. */
  commitOf(repoId: string): string;
  /** The hub's ETag of a file: sha256 for LFS files, git blob id otherwise. */
  etagOf(repoId: string, path: string): string;
  /** The next body of this file stops after `bytes` bytes and the connection is dropped (once). */
  cutAfter(repoId: string, path: string, bytes: number): void;
  /** Every body of this file has one byte flipped. */
  corrupt(repoId: string, path: string): void;
  /** Range requests for this file get the whole file with 200, as from a server without Range support. */
  ignoreRange(repoId: string, path: string): void;
  /** The next body of this file stops after `bytes` bytes and the connection stays open, silent (once). */
  stallAfter(repoId: string, path: string, bytes: number): void;
  /** Every body of this file has `extra` bytes beyond the file; sent without Content-Length (chunked) when asked. */
  oversize(repoId: string, path: string, extra: number, options?: { chunked?: boolean }): void;
  /** The revision API of this repository answers `rewrite(answer)` instead: a value sent as JSON, or a string sent as is. */
  rewriteRevision(repoId: string, rewrite: (answer: RevisionAnswer) => unknown): void;
  /** The resolve URL of this file redirects to itself. */
  redirectLoop(repoId: string, path: string): void;
  /** From now on the hub accepts every request and never answers. */
  hang(): void;
  /** The next `times` requests to the hub are answered with HTTP `status`. */
  failNext(times: number, status: number): void;
  close(): Promise<void>;
}

/** The revision API's answer as this server builds it. */
export interface RevisionAnswer {
  sha: string;
  siblings: Record<string, unknown>[];
  [field: string]: unknown;
}

interface RepoFile {
  content: Buffer;
  lfs: boolean;
  sha256: string;
  gitOid: string;
}

interface Repo {
  commit: string;
  files: Map<string, RepoFile>;
}

// What the hub's default .gitattributes sends to LFS, restricted to the formats the fixtures have.
const LFS_FILE = /\.(safetensors|bin)$/;

export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  const repos = loadRepos(options.root ?? modelsDir, options.org ?? 'kandinsky-community', options.extraFiles ?? {});
  const requests: LoggedRequest[] = [];
  const cuts = new Map<string, number>();
  const corrupted = new Set<string>();
  const rangeless = new Set<string>();
  const stalls = new Map<string, number>();
  const oversized = new Map<string, { extra: number; chunked: boolean }>();
  const rewrites = new Map<string, (answer: RevisionAnswer) => unknown>();
  const loops = new Set<string>();
  let hanging = false;
  let failures = { times: 0, status: 500 };
  const cdn = await listen((req, res) => serveCdn(req, res));
  const hub = await listen((req, res) => serveHub(req, res));

  function log(req: IncomingMessage, origin: LoggedRequest['origin']): URL {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      method: req.method ?? 'GET',
      url: url.pathname + url.search,
      origin,
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    return url;
  }

  function serveHub(req: IncomingMessage, res: ServerResponse): void {
    const url = log(req, 'hub');
    if (hanging) return; // The connection stays open until the client gives up or the server closes.
    if (failures.times > 0) {
      failures.times--;
      return sendError(res, failures.status, 'injected failure');
    }
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      return sendError(res, 401, 'Invalid credentials in Authorization header');
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api !== null) return serveRevision(res, api[1], decodeURIComponent(api[2]), url.searchParams.has('blobs'));
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve !== null) return serveResolve(req, res, url, resolve[1], decodeURIComponent(resolve[2]), decodeURIComponent(resolve[3]));
    sendError(res, 404, 'not a hub route');
  }

  function findRepo(res: ServerResponse, repoId: string, revision: string): Repo | undefined {
    const repo = repos.get(repoId);
    if (repo === undefined) sendError(res, 404, 'Repository not found', 'RepoNotFound');
    else if (revision !== 'main' && revision !== repo.commit) sendError(res, 404, 'Invalid rev id', 'RevisionNotFound');
    else return repo;
    return undefined;
  }

  function serveRevision(res: ServerResponse, repoId: string, revision: string, blobs: boolean): void {
    const repo = findRepo(res, repoId, revision);
    if (repo === undefined) return;
    const siblings = [...repo.files].map(([rfilename, file]) =>
      blobs ? { rfilename, ...blobInfo(file) } : { rfilename },
    );
    const answer: RevisionAnswer = { id: repoId, modelId: repoId, sha: repo.commit, private: false, siblings };
    const rewritten = rewrites.get(repoId)?.(answer) ?? answer;
    const body = typeof rewritten === 'string' ? rewritten : JSON.stringify(rewritten);
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }

  function serveResolve(req: IncomingMessage, res: ServerResponse, url: URL, repoId: string, revision: string, path: string): void {
    const repo = findRepo(res, repoId, revision);
    if (repo === undefined) return;
    const file = repo.files.get(path);
    if (file === undefined) return sendError(res, 404, 'Entry not found', 'EntryNotFound');
    const common = { 'x-repo-commit': repo.commit };
    if (loops.has(`${repoId}:${path}`)) {
      res.writeHead(302, { ...common, location: url.pathname, 'content-length': '0' }).end();
      return;
    }
    if (!file.lfs) return sendBytes(req, res, `${repoId}:${path}`, file, { ...common, etag: `"${file.gitOid}"` });
    res.writeHead(302, {
      ...common,
      location: `${cdn.origin}/cdn/${repoId}/${file.sha256}?path=${encodeURIComponent(path)}`,
      etag: `"${file.sha256}"`,
      'x-linked-etag': `"${file.sha256}"`,
      'x-linked-size': String(file.content.length),
      'content-length': '0',
    });
    res.end();
  }

  function serveCdn(req: IncomingMessage, res: ServerResponse): void {
    const url = log(req, 'cdn');
    const match = /^\/cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url.pathname);
    const path = url.searchParams.get('path') ?? '';
    const file = match === null ? undefined : repos.get(match[1])?.files.get(path);
    if (match === null || file === undefined || file.sha256 !== match[2]) return sendError(res, 404, 'NoSuchKey');
    sendBytes(req, res, `${match[1]}:${path}`, file, { etag: `"${file.sha256}"` });
  }

  function sendBytes(req: IncomingMessage, res: ServerResponse, key: string, file: RepoFile, headers: Record<string, string>): void {
    const content = corrupted.has(key) ? flipMiddleByte(file.content) : file.content;
    const size = content.length;
    const range = rangeless.has(key) ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    if (range !== null) {
      start = Number(range[1]);
      end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
      if (start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    const over = oversized.get(key);
    const body = over === undefined ? content.subarray(start, end + 1) : Buffer.concat([content.subarray(start, end + 1), Buffer.alloc(over.extra, 0x41)]);
    res.writeHead(range === null ? 200 : 206, {
      ...headers,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      ...(over?.chunked ? {} : { 'content-length': String(body.length) }),
    });
    const stall = stalls.get(key);
    if (stall !== undefined) {
      stalls.delete(key);
      res.write(body.subarray(0, stall));
      return;
    }
    const cut = cuts.get(key);
    if (cut === undefined) {
      res.end(body);
      return;
    }
    cuts.delete(key);
    // Drop the connection a moment after the bytes left, as a network failure would: the client has
    // read them by then (a client may discard what is still queued when the socket closes).
    res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 50));
  }

  return {
    endpoint: hub.origin,
    requests,
    commitOf: (repoId) => mustGet(repos, repoId).commit,
    etagOf: (repoId, path) => {
      const file = mustGet(mustGet(repos, repoId).files, path);
      return file.lfs ? file.sha256 : file.gitOid;
    },
    cutAfter: (repoId, path, bytes) => void cuts.set(`${repoId}:${path}`, bytes),
    corrupt: (repoId, path) => void corrupted.add(`${repoId}:${path}`),
    ignoreRange: (repoId, path) => void rangeless.add(`${repoId}:${path}`),
    stallAfter: (repoId, path, bytes) => void stalls.set(`${repoId}:${path}`, bytes),
    oversize: (repoId, path, extra, { chunked = false } = {}) => void oversized.set(`${repoId}:${path}`, { extra, chunked }),
    rewriteRevision: (repoId, rewrite) => void rewrites.set(repoId, rewrite),
    redirectLoop: (repoId, path) => void loops.add(`${repoId}:${path}`),
    hang: () => {
      hanging = true;
    },
    failNext: (times, status) => {
      failures = { times, status };
    },
    close: async () => {
      await Promise.all([hub.close(), cdn.close()]);
    },
  };
}

interface Listener {
  origin: string;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listener> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function loadRepos(root: string, org: string, extraFiles: Record<string, Record<string, Buffer>>): Map<string, Repo> {
  const repos = new Map<string, Repo>();
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const repoId = `${org}/${entry.name}`;
    const files = new Map<string, RepoFile>([['.gitattributes', repoFile('.gitattributes', GITATTRIBUTES)]]);
    const folder = join(root, entry.name);
    for (const path of readdirSync(folder, { recursive: true, withFileTypes: true })) {
      if (!path.isFile()) continue;
      const absolute = join(path.parentPath, path.name);
      const repoPath = relative(folder, absolute).split(sep).join('/');
      files.set(repoPath, loadedFile(absolute, repoPath));
    }
    for (const [path, content] of Object.entries(extraFiles[repoId] ?? {})) files.set(path, repoFile(path, content));
    const sorted = new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
    repos.set(repoId, { commit: sha1(`fake commit of ${repoId}`), files: sorted });
  }
  return repos;
}

const GITATTRIBUTES = Buffer.from('*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n');

// Read and hashed once per test process: every test starts its own server over the same fixtures.
const loadedFiles = new Map<string, RepoFile>();

function loadedFile(absolute: string, repoPath: string): RepoFile {
  let file = loadedFiles.get(absolute);
  if (file === undefined) loadedFiles.set(absolute, (file = repoFile(repoPath, readFileSync(absolute))));
  return file;
}

function repoFile(path: string, content: Buffer): RepoFile {
  return { content, lfs: LFS_FILE.test(path), sha256: createHash('sha256').update(content).digest('hex'), gitOid: gitBlobId(content) };
}

/** What `?blobs=true` adds to a sibling: for LFS files, blobId is the id of the pointer file that git stores. */
function blobInfo(file: RepoFile): object {
  const size = file.content.length;
  if (!file.lfs) return { blobId: file.gitOid, size };
  const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${size}\n`);
  return { blobId: gitBlobId(pointer), size, lfs: { sha256: file.sha256, size, pointerSize: pointer.length } };
}

function gitBlobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function flipMiddleByte(content: Buffer): Buffer {
  const copy = Buffer.from(content);
  copy[copy.length >> 1] ^= 0xff;
  return copy;
}

function sendError(res: ServerResponse, status: number, message: string, code?: string): void {
  res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-error-code': code } : {}) });
  res.end(JSON.stringify({ error: message }));
}

function mustGet<K, V>(map: Map<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`hub-server: no ${String(key)}`);
  return value;
}
