import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin } from './cli.js';
import { modelsDir } from './fixtures.js';

export const HOSTED_VERSION = 'ad9d7879fbffa2874e1d909d1d37d9bc682889cc65b31f7bb00d2362619f194a';

/** Small and quick on the tiny models (the hosted defaults, 512 px and 75+25+25 steps, take long even there). */
export const QUICK_INPUT = { prompt: 'a red cat', width: 384, height: 384, num_inference_steps: 2, num_inference_steps_prior: 2 };

export interface Serve {
  /** Where it listens (the public URL may differ). */
  readonly url: string;
  readonly api: string;
  readonly token: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** All stdout and stderr so far. */
  output(): string;
  /** The worker child's pid (the one child of the server process). */
  workerPid(): number;
  fetch(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * `kandinsky serve` as a user starts it, on a free loopback port, with the tiny models in the published
 * layout standing in for the hub repos (--models), a fresh data folder and one token.
 */
export async function startServe(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Serve> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kandinsky-serve-'));
  const token = 'r8_test_token_a';
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data', dataDir, '--models', modelsDir, ...args], {
    env: { ...process.env, KANDINSKY_API_TOKENS: `${token},r8_test_token_b`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (\S+)/.exec(output);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => reject(new Error(`kandinsky serve exited (${code}):\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    url,
    api: `${url}/v1`,
    token,
    dataDir,
    process: child,
    output: () => output,
    workerPid: () => Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)]).toString().trim().split(/\s+/)[0]),
    fetch: (path, init = {}) => {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(path.startsWith('http') ? path : `${url}/v1${path}`, { ...rest, headers, body: json === undefined ? rest.body : JSON.stringify(json) });
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls until `check` holds (the worker runs asynchronously), at most `ms`. */
export async function eventually<T>(get: () => Promise<T>, check: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (check(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
