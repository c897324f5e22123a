import { join } from 'node:path';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import type { Device } from '../onnx/index.js';
import type { WorkerOptions } from '../server/worker/messages.js';
import { startWorker } from '../server/worker/standalone.js';
import { runUntilSignal } from './cancellation.js';
import { parseBytes } from './generate-options.js';
import { device, origin, positiveInt } from './options.js';

/** The flags of how a worker runs generations, shared by `serve` (its own worker) and `worker`. */
export interface WorkerFlags {
  memoryBudget?: string;
  timeout?: number;
  threads?: number;
  device?: Device;
}

export function addWorkerOptions(command: Command): Command {
  return command
    .option('--memory-budget <size>', 'weights the worker keeps loaded between predictions, e.g. 8GiB')
    .option('--timeout <s>', 'fail a prediction that runs longer than this many seconds (its worker is restarted); default none', positiveInt)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu, ...', device);
}

export function workerOptions(flags: WorkerFlags): WorkerOptions {
  return {
    memoryBudget: flags.memoryBudget === undefined ? undefined : parseBytes('--memory-budget', flags.memoryBudget),
    timeoutS: flags.timeout,
    threads: flags.threads,
    device: flags.device,
  };
}

/** Where `serve` keeps its data by default: a worker on the same machine and SQLite store finds it there. */
export const DEFAULT_DATA_DIR = join(homedir(), '.kandinsky', 'serve');

interface StandaloneFlags extends WorkerFlags {
  store: string;
  data: string;
  models?: string;
  publicUrl: string;
}

export function registerWorker(program: Command): void {
  addWorkerOptions(
    program
      .command('worker')
      .description('runs the predictions that `kandinsky serve --no-worker` processes queue, from the same --store, without HTTP')
      .requiredOption('--store <url>', 'the API processes\' store: postgres://USER@HOST/DB (any machine), or sqlite (their --data folder, this machine)')
      .option('--data <dir>', 'the --data folder of the API processes, for --store sqlite', DEFAULT_DATA_DIR)
      .option('--models <dir>', 'a folder of model repos named as on the hub; default: the Hugging Face cache')
      .option('--public-url <url>', 'the origin clients reach the API at, for the URLs in webhook bodies and image inputs', origin, 'http://127.0.0.1:5000'),
  ).action(async (flags: StandaloneFlags) => {
    await work(flags);
  });
}

async function work(flags: StandaloneFlags): Promise<void> {
  const log = (line: string) => console.error(line);
  const worker = await startWorker({ ...workerOptions(flags), store: flags.store, dataDir: flags.data, modelsDir: flags.models, publicUrl: flags.publicUrl, log });
  console.log(`kandinsky worker: claiming predictions from ${withoutPassword(flags.store)}`);
  await runUntilSignal('worker', () => worker.close());
}

function withoutPassword(store: string): string {
  return store.replace(/^(postgres(?:ql)?:\/\/[^:/@]+):[^@]*@/, '$1:***@');
}
