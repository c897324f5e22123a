import { join } from 'node:path';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { startServer } from '../server/server.js';
import { parseBytes } from './generate-options.js';
import { positiveInt } from './options.js';

interface ServeFlags {
  host: string;
  port: string;
  data: string;
  models?: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  store: string;
  memoryBudget?: string;
  timeout?: number;
  maxQueue?: number;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("Replicate's predictions API for ai-forever/kandinsky-2.2 and every mode: point Replicate clients at it with a base URL and a token")
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free one)', '5000')
    .option('--data <dir>', 'where predictions, outputs and tokens.json live', join(homedir(), '.kandinsky', 'serve'))
    .option('--models <dir>', 'a folder of model repos named as on the hub (kandinsky-2-2-decoder or kandinsky-community/kandinsky-2-2-decoder); default: the Hugging Face cache')
    .option('--public-url <url>', 'the origin clients use, for every URL the API emits (default http(s)://HOST:PORT)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM), with --tls-key')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--store <url>', 'where the queue lives: sqlite (in --data) or postgres://USER@HOST/DB', 'sqlite')
    .option('--memory-budget <size>', 'weights the worker keeps loaded between predictions, e.g. 8GiB')
    .option('--timeout <s>', 'fail a prediction that runs longer than this many seconds (its worker is restarted); default none', positiveInt)
    .option('--max-queue <n>', 'predictions that may wait; more are answered 429', positiveInt)
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const port = Number(flags.port);
  if (!/^\d+$/.test(flags.port) || port > 65535) throw new InputError(`--port must be 0-65535, got "${flags.port}"`);
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new InputError('--tls-cert and --tls-key go together');
  if (flags.publicUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(flags.publicUrl)) {
    throw new InputError(`--public-url must be an origin such as https://k.example, got "${flags.publicUrl}"`);
  }
  const server = await startServer({
    host: flags.host,
    port,
    dataDir: flags.data,
    modelsDir: flags.models,
    publicUrl: flags.publicUrl,
    tls: flags.tlsCert ? { certFile: flags.tlsCert, keyFile: flags.tlsKey! } : undefined,
    store: flags.store,
    memoryBudget: flags.memoryBudget === undefined ? undefined : parseBytes('--memory-budget', flags.memoryBudget),
    timeoutS: flags.timeout,
    maxQueue: flags.maxQueue,
  });
  console.log(`kandinsky serve: ${server.publicUrl}/v1 (models: ${server.models.join(', ') || 'none found'}), listening on ${server.address}`);
  if (server.createdToken) {
    console.log(`API token (saved in ${join(flags.data, 'tokens.json')}): ${server.createdToken}`);
    console.log(`Open the playground signed in: ${server.publicUrl}/#token=${server.createdToken}`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      console.error(`kandinsky serve: ${signal}: finishing the running prediction, then stopping (again to stop at once)`);
      process.once(signal, () => process.exit(130));
      void server.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
