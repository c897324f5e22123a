import { hostname } from 'node:os';
import { openStore } from '../open-store.js';
import type { FromWorker, ToWorker, WorkerConfig } from './messages.js';
import { WORKER_CONFIG_ENV } from './messages.js';
import { LEASE_MS } from './lease.js';
import { runPrediction } from './run-prediction.js';
import { PIPELINE_RUNNER, type CreateRunner } from './runner.js';

// A worker child process: claims predictions from the store one at a time and runs them with its runner (the
// pipelines on their own generation thread, whose sessions stay loaded between predictions within the memory
// budget). A crash or an out-of-memory here cannot take the API down; the supervisor restarts the process.

/** How often an idle worker looks at the queue when nothing wakes it (a change notice may be missed). */
const IDLE_POLL_MS = 1000;

const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as WorkerConfig;
const name = `${hostname()}:${process.pid}`;
const send = (m: FromWorker) => process.send?.(m);
let draining = false;
let wake: () => void = () => {};

process.on('message', (m: ToWorker) => {
  if (m.type === 'drain') draining = true;
  wake();
});
// The API process decides when this one stops (Ctrl-C reaches the whole process group); if it dies, finish
// the running prediction and go.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('disconnect', () => {
  draining = true;
  wake();
});

const store = await openStore(config.store, config.dataDir);
const { createRunner } = (await import(config.runner ?? PIPELINE_RUNNER.href)) as { createRunner: CreateRunner };
const runner = createRunner(config, store);
// Predictions queued through other API processes (a shared PostgreSQL store) wake it as the local one's IPC does.
store.onChange(() => wake());
const base = { publicUrl: config.publicUrl };
send({ type: 'ready', worker: name });
while (!draining) {
  const p = await store.claimNext(name, LEASE_MS);
  if (!p) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, IDLE_POLL_MS);
    });
    continue;
  }
  send({ type: 'claimed', id: p.id });
  send({ type: 'changed', id: p.id });
  await runPrediction(p, { store, runner, worker: name, base, onChanged: (id) => send({ type: 'changed', id }) });
  send({ type: 'finished', id: p.id });
}
await runner.close();
await store.close();
process.disconnect?.();
