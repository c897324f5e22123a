import { parentPort, workerData } from 'node:worker_threads';
import { loadThread, type LoadSpec } from './load.js';

await loadThread(workerData as LoadSpec, (r) => parentPort!.postMessage(r));
