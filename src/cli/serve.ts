import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { DEFAULT_RETENTION_S, startServer } from '../server/server.js';
import { runUntilSignal } from './cancellation.js';
import { nonNegativeInt, origin, positiveInt } from './options.js';
import { addWorkerOptions, DEFAULT_DATA_DIR, workerOptions, type WorkerFlags } from './worker.js';

interface ServeFlags extends WorkerFlags {
  host: string;
  port: string;
  data: string;
  models?: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  store: string;
  maxQueue?: number;
  /** Commander's name for --no-worker. */
  worker: boolean;
  retention: number;
}

export function registerServe(program: Command): void {
  addWorkerOptions(program
    .command('serve')
    .description("Replicate's predictions API for ai-forever/kandinsky-2.2 and every mode: point Replicate clients at it with a base URL and a token")
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free one)', '5000')
    .option('--data <dir>', 'where predictions, outputs and tokens.json live', DEFAULT_DATA_DIR)
    .option('--models <dir>', 'a folder of model repos named as on the hub (kandinsky-2-2-decoder or kandinsky-community/kandinsky-2-2-decoder); default: the Hugging Face cache')
    .option('--public-url <url>', 'the origin clients use, for every URL the API emits (default http(s)://HOST:PORT)', origin)
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM), with --tls-key')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--store <url>', 'where the queue lives: sqlite (in --data) or postgres://USER@HOST/DB', 'sqlite')
    .option('--max-queue <n>', 'predictions that may wait; more are answered 429', positiveInt)
    .option('--no-worker', 'API only: predictions run in `kandinsky worker` processes on the same --store')
    .option('--retention <s>', 'seconds a finished prediction keeps its input, output and logs (0: forever)', nonNegativeInt, DEFAULT_RETENTION_S))
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const port = Number(flags.port);
  if (!/^\d+$/.test(flags.port) || port > 65535) throw new InputError(`--port must be 0-65535, got "${flags.port}"`);
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new InputError('--tls-cert and --tls-key go together');
  const server = await startServer({
    host: flags.host,
    port,
    dataDir: flags.data,
    modelsDir: flags.models,
    publicUrl: flags.publicUrl,
    tls: flags.tlsCert ? { certFile: flags.tlsCert, keyFile: flags.tlsKey! } : undefined,
    store: flags.store,
    ...workerOptions(flags),
    maxQueue: flags.maxQueue,
    worker: flags.worker,
    retentionS: flags.retention,
  });
  console.log(`kandinsky serve: ${server.publicUrl}/v1 (models: ${server.models.join(', ') || 'none found'}), listening on ${server.address}`);
  if (server.createdToken) {
    console.log(`API token (saved in ${join(flags.data, 'tokens.json')}): ${server.createdToken}`);
    console.log(`Open the playground signed in: ${server.publicUrl}/#token=${server.createdToken}`);
  }
  await runUntilSignal('serve', () => server.close());
}
