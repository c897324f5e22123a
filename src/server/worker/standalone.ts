import { resolve } from 'node:path';
import { openStore } from '../open-store.js';
import { workerConfig, type WorkerOptions } from './messages.js';
import { WorkerSupervisor } from './supervisor.js';

// `kandinsky worker`: the worker child and its supervisor that `serve` runs, without the HTTP side, claiming
// from a store that API processes elsewhere fill (PostgreSQL; or SQLite in a --data folder on this machine).

export interface StandaloneWorkerOptions extends WorkerOptions {
  /** `sqlite` (in dataDir) or a postgres:// URL. */
  readonly store: string;
  readonly dataDir: string;
  readonly modelsDir?: string;
  /** The API's public origin. */
  readonly publicUrl: string;
  readonly log: (line: string) => void;
}

export interface RunningWorker {
  /** Graceful: the running prediction finishes, then the child exits and the store closes. */
  close(): Promise<void>;
}

export async function startWorker(o: StandaloneWorkerOptions): Promise<RunningWorker> {
  const dataDir = resolve(o.dataDir);
  const modelsDir = o.modelsDir === undefined ? undefined : resolve(o.modelsDir);
  // The supervisor's own store: it fails the prediction of a child that dies.
  const store = await openStore(o.store, dataDir);
  const supervisor = new WorkerSupervisor({
    store,
    config: workerConfig(o.store, dataDir, modelsDir, o.publicUrl.replace(/\/+$/, ''), o),
    timeoutS: o.timeoutS,
    // Waits and streams live in the API processes: they hear of changes through the store.
    onChanged: () => undefined,
    onClaimed: (id, worker) => o.log(`worker ${worker}: running prediction ${id}`),
    log: o.log,
  });
  supervisor.start();
  return {
    close: async () => {
      await supervisor.stop();
      await store.close();
    },
  };
}
