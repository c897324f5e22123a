import { parentPort, workerData } from 'node:worker_threads';
import { Engine } from './engine.js';
import type { FromWorker, ToWorker, WorkerData } from './messages.js';

// The worker thread that owns the onnxruntime sessions: a forward pass blocks it, not the host's event loop.
const engine = new Engine((workerData as WorkerData).engine);
const port = parentPort!;
const running = new Map<number, AbortController>();
const send = (message: FromWorker) => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    running.get(message.id)?.abort();
    return;
  }
  if (message.type === 'release') {
    void engine.release().then(() => send({ type: 'released' }));
    return;
  }
  const { id, request } = message;
  const controller = new AbortController();
  running.set(id, controller);
  engine
    .generate(request, { signal: controller.signal, onStep: (event) => send({ type: 'step', id, event }) })
    .then((result) => send({ type: 'done', id, result }))
    .catch((err: Error) => send({ type: 'error', id, error: { name: err.name, message: err.message, stack: err.stack } }))
    .finally(() => running.delete(id));
});
