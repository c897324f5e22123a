// HTTP to the hub through Node's global fetch. Redirects are followed by hand because large files
// redirect to a CDN on another host, which must not receive the user's token (huggingface_hub drops it too).
import { KandinskyError } from '../errors.js';

const MAX_REDIRECTS = 10;
const USER_AGENT = `kandinsky (node ${process.version})`;

export interface HubRequest {
  token?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** GET `url`, following redirects; the bearer token goes to the first origin only. */
export async function hubGet(url: string, request: HubRequest = {}): Promise<Response> {
  const origin = new URL(url).origin;
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...request.headers };
    if (request.token && current.origin === origin) headers.authorization = `Bearer ${request.token}`;
    const response = await fetch(current, { headers, redirect: 'manual', signal: request.signal });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) return response;
    await response.body?.cancel();
    current = new URL(location, current);
  }
  throw new KandinskyError(`more than ${MAX_REDIRECTS} redirects from ${url}`);
}

/** What the user asked for, to say in an error. */
export interface HubTarget {
  repoId: string;
  revision: string;
  endpoint: string;
  token?: string;
  /** The file, for a download; absent for the revision API. */
  file?: string;
}

/** The error for a non-2xx answer, phrased for what the user can do about it. */
export function hubStatusError(response: Response, target: HubTarget): KandinskyError {
  const { repoId, revision, endpoint, token, file } = target;
  const code = response.headers.get('x-error-code');
  const tokenHint = token
    ? 'HF_TOKEN is set but does not grant access (a gated repository needs its terms accepted on the hub page)'
    : 'if the repository is private or gated, set HF_TOKEN to an access token';
  if (code === 'RevisionNotFound') {
    return new KandinskyError(`revision ${revision} not found in ${repoId} on ${endpoint}`);
  }
  if (code === 'RepoNotFound' || (response.status === 404 && file === undefined)) {
    return new KandinskyError(`repository not found (or private): ${repoId} at ${revision} on ${endpoint}; ${tokenHint}`);
  }
  if (response.status === 401 || response.status === 403) {
    return new KandinskyError(`${endpoint} refused access to ${repoId} (HTTP ${response.status}); ${tokenHint}`);
  }
  if (response.status === 404) {
    return new KandinskyError(`${file} not found in ${repoId} at ${revision} on ${endpoint}`);
  }
  const what = file === undefined ? `the revision ${revision} of ${repoId}` : `${file} of ${repoId}`;
  return new KandinskyError(`${endpoint} answered HTTP ${response.status} for ${what}`);
}

/** True for a failure of the connection itself (refused, reset, cut mid-body), which a retry may cure. */
export function isNetworkError(err: unknown): boolean {
  // undici reports network failures as TypeError ("fetch failed", "terminated"); aborts are DOMExceptions.
  return err instanceof TypeError;
}
