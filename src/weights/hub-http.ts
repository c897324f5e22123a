// HTTP to the hub over node:http(s). Not fetch: undici's connection and idle timeouts cannot be set per request
// (a server that accepts the connection and stays silent holds it for 300 s). Redirects are followed by hand
// because large files redirect to a CDN on another host, which must not receive the user's token (huggingface_hub
// drops it too).
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, HubError, KandinskyError } from '../errors.js';

const MAX_REDIRECTS = 10;
const MAX_ATTEMPTS = 5;
const RETRY_DELAY_MS = 250;
// setTimeout takes at most 2^31 - 1 ms; a longer timeout would fire at once.
const MAX_TIMEOUT_SECONDS = 2_000_000;
const USER_AGENT = `kandinsky (node ${process.version})`;

/** In seconds. */
export interface HubTimeouts {
  /** To open a connection (TCP, and TLS for https). */
  connect: number;
  /** Without a byte from the server, while waiting for its answer or inside a body. */
  idle: number;
}

export const DEFAULT_HUB_TIMEOUTS: HubTimeouts = { connect: 10, idle: 60 };

const TIMEOUT_VARIABLES: Readonly<Record<keyof HubTimeouts, string>> = {
  connect: 'KANDINSKY_HUB_CONNECT_TIMEOUT',
  idle: 'KANDINSKY_HUB_TIMEOUT',
};

/** Each timeout from `options`, else from its variable in `env`, else its default. */
export function hubTimeouts(env: NodeJS.ProcessEnv, options: Partial<HubTimeouts> = {}): HubTimeouts {
  const pick = (key: keyof HubTimeouts): number => {
    const given = options[key] ?? env[TIMEOUT_VARIABLES[key]];
    if (given === undefined || given === '') return DEFAULT_HUB_TIMEOUTS[key];
    const seconds = Number(given);
    if (!(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS)) {
      const source = options[key] === undefined ? TIMEOUT_VARIABLES[key] : `the ${key} timeout`;
      throw new ConfigError(`${source} is ${JSON.stringify(given)}, expected a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}`);
    }
    return seconds;
  };
  return { connect: pick('connect'), idle: pick('idle') };
}

/** A failure that a later attempt may not meet: connection refused, reset or cut, a timeout, HTTP 429 or 5xx. */
export class TransientHubError extends HubError {}

export interface HubRequest {
  timeouts: HubTimeouts;
  token?: string;
  signal?: AbortSignal;
}

/** An answer whose body is still to be read (readBody, readJson) or discarded. */
export interface HubResponse {
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly status: number;
  /** `X-Linked-Size` of the hub's redirect on the way, if any: the size of an LFS file as the hub knows it. */
  readonly linkedSize: string | undefined;
  readonly message: IncomingMessage;
  header(name: string): string | undefined;
  discard(): void;
}

/** GET `url`, following at most MAX_REDIRECTS redirects; the bearer token goes to the first origin only. */
export async function hubGet(url: string, request: HubRequest, headers: Record<string, string> = {}): Promise<HubResponse> {
  const first = httpUrl(url);
  let current = first;
  let linkedSize: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sent: Record<string, string> = { 'user-agent': USER_AGENT, ...headers };
    if (request.token && current.origin === first.origin) sent.authorization = `Bearer ${request.token}`;
    const message = await send(current, sent, request);
    const status = message.statusCode ?? 0;
    const location = header(message.headers, 'location');
    if (status < 300 || status >= 400 || location === undefined) {
      return {
        url: current.href,
        status,
        linkedSize,
        message,
        header: (name) => header(message.headers, name),
        discard: () => void message.destroy(),
      };
    }
    linkedSize ??= header(message.headers, 'x-linked-size');
    message.destroy();
    current = httpUrl(location, current);
  }
  throw new HubError(`${url}: more than ${MAX_REDIRECTS} redirects`);
}

/**
 * The body's chunks, refused as soon as they run past `maxBytes` (what was announced for them), before the chunk
 * that would: no byte beyond the announcement is handed on. A Content-Length above it is refused unread.
 */
export async function* readBody(response: HubResponse, maxBytes: number, what: string): AsyncGenerator<Buffer> {
  const contentLength = response.header('content-length');
  if (contentLength !== undefined && Number(contentLength) > maxBytes) {
    response.discard();
    throw new HubError(`${response.url} announces ${contentLength} bytes (Content-Length) for ${what}, expected at most ${maxBytes}`);
  }
  let received = 0;
  try {
    for await (const chunk of response.message as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > maxBytes) throw new HubError(`${response.url} sent more than the ${maxBytes} bytes expected for ${what}`);
      yield chunk;
    }
  } catch (err) {
    response.discard();
    throw transient(err, `the connection to ${response.url} broke after ${received} bytes`);
  }
}

/** The body as JSON (at most `maxBytes` of it); `what` names the answer expected, for the error. */
export async function readJson(response: HubResponse, maxBytes: number, what: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of readBody(response, maxBytes, what)) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HubError(`${response.url} did not answer with JSON, expected ${what} (${(err as Error).message})`);
  }
}

/**
 * Runs `attempt` until it succeeds, again after each transient failure with a growing pause, at most MAX_ATTEMPTS
 * times. Only for what is safe to repeat: a GET of metadata, or a download that resumes where it stopped.
 */
export async function withRetries<T>(what: string, signal: AbortSignal | undefined, attempt: () => Promise<T>, hint = ''): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (err) {
      signal?.throwIfAborted();
      if (!(err instanceof TransientHubError)) throw err;
      if (attempts === MAX_ATTEMPTS) throw new HubError(`${what} failed ${MAX_ATTEMPTS} times, the last time: ${err.message}${hint}`, { cause: err });
      await sleep(RETRY_DELAY_MS * attempts, undefined, { signal });
    }
  }
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
export function hubStatusError(response: HubResponse, target: HubTarget): HubError {
  const { repoId, revision, endpoint, token, file } = target;
  const { status } = response;
  const code = response.header('x-error-code');
  const tokenHint = token
    ? 'HF_TOKEN is set but does not grant access (a gated repository needs its terms accepted on the hub page)'
    : 'if the repository is private or gated, set HF_TOKEN to an access token';
  if (code === 'RevisionNotFound') {
    return new HubError(`revision ${revision} not found in ${repoId} on ${endpoint}`);
  }
  if (code === 'RepoNotFound' || (status === 404 && file === undefined)) {
    return new HubError(`repository not found (or private): ${repoId} at ${revision} on ${endpoint}; ${tokenHint}`);
  }
  if (status === 401 || status === 403) {
    return new HubError(`${endpoint} refused access to ${repoId} (HTTP ${status}); ${tokenHint}`);
  }
  if (status === 404) {
    return new HubError(`${file} not found in ${repoId} at ${revision} on ${endpoint}`);
  }
  const what = file === undefined ? `the revision ${revision} of ${repoId}` : `${file} of ${repoId}`;
  const message = `${endpoint} answered HTTP ${status} for ${what} (${response.url})`;
  return status === 429 || status >= 500 ? new TransientHubError(message) : new HubError(message);
}

/** One request: its answer once the headers are in, with the timeouts and the abort signal applied to the body too. */
function send(url: URL, headers: Record<string, string>, { timeouts, signal }: HubRequest): Promise<IncomingMessage> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { headers });
    let message: IncomingMessage | undefined;
    // Before the answer the request fails with `err`; after it, the body's reader does.
    const fail = (err: unknown) => void (message ?? req).destroy(err as Error);
    // A body received in full may wait on the disk: only the network's silence is a timeout.
    const timeOut = (err: TransientHubError) => {
      if (!message?.complete) fail(err);
    };
    const onAbort = () => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const settled = () => signal?.removeEventListener('abort', onAbort);

    req.setTimeout(timeouts.idle * 1000, () =>
      timeOut(new TransientHubError(`${url.href}: no data for ${timeouts.idle} s (idle timeout; ${TIMEOUT_VARIABLES.idle} sets it)`)),
    );
    req.once('socket', (socket) => {
      if (!socket.connecting) return; // A kept-alive connection.
      const timer = setTimeout(
        () => timeOut(new TransientHubError(`${url.href}: no connection within ${timeouts.connect} s (${TIMEOUT_VARIABLES.connect} sets it)`)),
        timeouts.connect * 1000,
      );
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    req.once('response', (res) => {
      message = res;
      // The reader reports the body's errors; this keeps one that fails unread from crashing the process.
      res.on('error', () => {});
      res.once('close', settled);
      resolve(res);
    });
    req.on('error', (err) => {
      settled();
      reject(transient(err, `cannot reach ${url.href}`));
    });
    req.end();
  });
}

/** Network failures become TransientHubError (retried); our own refusals and the abort reason pass unchanged. */
function transient(err: unknown, context: string): unknown {
  if (err instanceof KandinskyError || (err as Error)?.name === 'AbortError') return err;
  return new TransientHubError(`${context} (${(err as Error)?.message ?? String(err)})`, { cause: err });
}

/** `location` resolved against `base`, refused unless http(s). */
function httpUrl(location: string, base?: URL): URL {
  const from = base === undefined ? '' : `${base.href} redirected to `;
  let url: URL;
  try {
    url = new URL(location, base);
  } catch {
    throw new HubError(`${from}"${location}", which is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HubError(`${from}${url.href}, expected an http(s) URL`);
  return url;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
