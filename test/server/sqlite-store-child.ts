// A second process on a test's store.db, forked by sqlite-store.test.ts: `write DIR` creates and finishes
// predictions until it is killed, reporting each after its commit; `claim DIR` claims until the queue is empty.
import { randomBytes } from 'node:crypto';
import { openSqliteStore } from '../../src/server/store/sqlite-store.js';
import { newPrediction, outputOf } from './store-contract.js';

const [mode, dataDir] = process.argv.slice(2);
const store = await openSqliteStore(dataDir);
const worker = `worker-${process.pid}`;
const report = (message: Record<string, string>) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

if (mode === 'write') {
  for (;;) {
    const p = newPrediction();
    await store.createPrediction(p);
    await report({ created: p.id });
    const claimed = await store.claimNext(worker, 60_000);
    await store.finishPrediction(claimed!.id, worker, { status: 'succeeded', outputs: [outputOf('out-0.webp', randomBytes(256 * 1024))] });
    await report({ finished: claimed!.id });
  }
} else {
  for (let claimed; (claimed = await store.claimNext(worker, 60_000)) !== undefined;) await report({ claimed: claimed.id });
  await store.close();
  process.disconnect();
}
