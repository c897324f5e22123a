import { createHash } from 'node:crypto';
import { AbortedError } from '../../pipelines/index.js';
import { enqueueFinished, enqueueWebhook } from '../prediction-events.js';
import type { UrlBase } from '../prediction-json.js';
import type { OutputFile, PredictionRecord, Store } from '../types.js';
import { RENEW_MS, LEASE_MS } from './lease.js';
import { LogWriter } from './log-writer.js';
import type { PredictionRunner } from './runner.js';

/** How often a running prediction looks for a cancel request (the check between steps is then immediate). */
const CANCEL_POLL_MS = 200;

export interface RunDeps {
  readonly store: Store;
  /** Turns the prediction into its output files: the pipelines, or a stand-in. */
  readonly runner: PredictionRunner;
  readonly worker: string;
  readonly base: UrlBase;
  readonly onChanged: (id: string) => void;
}

/**
 * Runs one claimed prediction to its end: lease renewed, cancel requests turned into an abort between steps,
 * logs as the hosted model writes them, outputs stored with the final status in one step.
 */
export async function runPrediction(p: PredictionRecord, deps: RunDeps): Promise<void> {
  const { store, worker } = deps;
  const changed = () => deps.onChanged(p.id);
  const controller = new AbortController();
  let leaseLost = false;
  const renew = setInterval(() => {
    store.renewLease(p.id, worker, LEASE_MS).then(
      (held) => {
        if (!held) (leaseLost = true), controller.abort();
      },
      () => undefined,
    );
  }, RENEW_MS);
  const watchCancel = setInterval(() => {
    store.getPrediction(p.id).then((current) => current?.cancelRequested && controller.abort(), () => undefined);
  }, CANCEL_POLL_MS);
  const logs = new LogWriter(store, p.id, worker, deps.base, changed);
  await enqueueWebhook(store, p, 'start', deps.base);
  let result: Parameters<Store['finishPrediction']>[2];
  try {
    const files = await deps.runner.run(p, { signal: controller.signal, log: (text) => logs.append(text) });
    result = { status: 'succeeded', outputs: files.map(({ name, contentType, bytes }) => ({ file: outputFile(name, contentType, bytes), bytes })) };
  } catch (err) {
    if (err instanceof AbortedError) result = { status: 'canceled' };
    else result = { status: 'failed', error: (err as Error).message };
  } finally {
    clearInterval(renew);
    clearInterval(watchCancel);
  }
  await logs.flush();
  if (leaseLost) return; // Recovered by the lease rule: no longer ours to finish.
  await store.finishPrediction(p.id, worker, result);
  changed();
  const done = await store.getPrediction(p.id);
  if (done) await enqueueFinished(store, done, deps.base);
}

function outputFile(name: string, contentType: string, bytes: Uint8Array): OutputFile {
  return { name, contentType, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}
