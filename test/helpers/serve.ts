import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin } from './cli.js';
import { modelsDir, projectRoot, tinyDptDir } from './fixtures.js';

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
  /** kill -9 of the server and its worker child at once, as when its machine goes down. */
  crash(): Promise<void>;
}

/**
 * `kandinsky serve` as a user starts it, on a free loopback port, with the tiny models in the published
 * layout standing in for the hub repos (--models), a fresh data folder and one token.
 */
export async function startServe(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Serve> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kandinsky-serve-'));
  const token = 'r8_test_token_a';
  const { child, output, exited, crash } = spawnKandinsky('serve', ['--port', '0', '--data', dataDir, ...args], { KANDINSKY_API_TOKENS: `${token},r8_test_token_b`, ...env });
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (\S+)/.exec(output());
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => reject(new Error(`kandinsky serve exited (${code}):\n${output()}`)));
  });
  return {
    url,
    api: `${url}/v1`,
    token,
    dataDir,
    process: child,
    output,
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
    crash,
  };
}

export interface Worker {
  readonly process: ChildProcess;
  output(): string;
  /** The predictions it claimed, in order (from its `running prediction ID` lines). */
  claims(): string[];
  stop(): Promise<void>;
  /** kill -9 of the worker and its child at once, as when its machine goes down. */
  crash(): Promise<void>;
}

/** `kandinsky worker` with the tiny models, claiming from `args`' --store. */
export async function startWorker(args: string[]): Promise<Worker> {
  const { child, output, exited, crash } = spawnKandinsky('worker', args, {});
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => /claiming predictions from/.test(output()) && resolve());
    child.on('exit', (code) => reject(new Error(`kandinsky worker exited (${code}):\n${output()}`)));
  });
  return {
    process: child,
    output,
    claims: () => [...output().matchAll(/running prediction (\w+)/g)].map((m) => m[1]),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
    crash,
  };
}

/** A user's project folder in which `import Replicate from "replicate"` finds the official client (ours, installed). */
export function clientProject(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(projectRoot, 'node_modules', 'replicate'), join(dir, 'node_modules', 'replicate'));
  return dir;
}

let served: string | undefined;
/** A --models folder as a user lays it out: the tiny Kandinsky repos and the tiny DPT standing in for Intel/dpt-large. */
function servedModelsDir(): string {
  if (served) return served;
  served = mkdtempSync(join(tmpdir(), 'kandinsky-models-'));
  for (const repo of readdirSync(modelsDir)) symlinkSync(join(modelsDir, repo), join(served, repo));
  symlinkSync(tinyDptDir, join(served, 'dpt-large'));
  return served;
}

/** A kandinsky command on the tiny models, in a process group of its own so that crash() takes its children too. */
function spawnKandinsky(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin, command, '--models', servedModelsDir(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    output: () => output,
    exited,
    crash: async () => {
      process.kill(-child.pid!, 'SIGKILL');
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
