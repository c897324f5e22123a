import { enqueueFinished } from './prediction-events.js';
import type { UrlBase } from './prediction-json.js';
import { timestampOf } from './store/timestamps.js';
import type { Store } from './types.js';

// The API processes' periodic jobs on the shared store. Every API process runs them: the store makes each
// step atomic, so with several processes each recovered or expired prediction is handled by exactly one.

/** How often the predictions whose worker stopped renewing its lease are failed. */
const RECOVER_EVERY_MS = 5000;
/** The retention sweep runs a few times per retention period, at least every second, at most every minute. */
const RETENTION_SWEEPS_PER_PERIOD = 4;

export interface HousekeepingOptions {
  readonly store: Store;
  readonly base: UrlBase;
  /** Seconds a finished prediction keeps its input, output and logs; 0: forever. */
  readonly retentionS: number;
  readonly log: (line: string) => void;
}

/** Starts the jobs (the first round at once: after a crash, lapsed leases are waiting); returns their stop. */
export function startHousekeeping(o: HousekeepingOptions): () => Promise<void> {
  const jobs = [repeat(RECOVER_EVERY_MS, () => recoverLapsed(o.store, o.base), o.log)];
  if (o.retentionS > 0) {
    const every = Math.min(60_000, Math.max(1000, (o.retentionS * 1000) / RETENTION_SWEEPS_PER_PERIOD));
    jobs.push(repeat(every, () => removeExpired(o.store, o.retentionS), o.log));
  }
  return async () => {
    await Promise.all(jobs.map((stop) => stop()));
  };
}

/**
 * The lease rule: fails the predictions whose worker died, and queues their webhooks as a worker would have.
 * (Waits and streams hear of it through the store's change notices.)
 */
async function recoverLapsed(store: Store, base: UrlBase): Promise<void> {
  for (const p of await store.recoverLapsedLeases()) await enqueueFinished(store, p, base);
}

async function removeExpired(store: Store, retentionS: number): Promise<void> {
  await store.removeDataOlderThan(timestampOf(Date.now() - retentionS * 1000));
}

/** Runs `job` now and then every `ms` after it ends (never two at once); the returned stop waits for a running one. */
function repeat(ms: number, job: () => Promise<void>, log: (line: string) => void): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = job()
      .catch((err: unknown) => log(`housekeeping: ${(err as Error).message}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(run, ms);
      });
  };
  run();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
