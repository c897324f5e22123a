// A worker process for the scale-out tests: claims from the PostgreSQL queue until it is empty, holding each
// prediction by a lease it renews while it "works", and reports every claim to the parent over IPC.
// argv: url worker leaseMs workMs
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { openPostgresStore } from '../../src/server/store/postgres-store.js';

const [url, worker, leaseText, workText] = process.argv.slice(2);
const leaseMs = Number(leaseText);
const workMs = Number(workText);

const store = await openPostgresStore(url, { poolSize: 2 });
for (;;) {
  const prediction = await store.claimNext(worker, leaseMs);
  if (prediction === undefined) break;
  process.send?.({ claimed: prediction.id });
  await store.appendLogs(prediction.id, worker, `claimed by ${worker}\n`);
  const renewing = setInterval(() => void store.renewLease(prediction.id, worker, leaseMs), leaseMs / 4);
  await sleep(workMs);
  clearInterval(renewing);
  const bytes = new TextEncoder().encode(prediction.id);
  await store.finishPrediction(prediction.id, worker, {
    status: 'succeeded',
    outputs: [{ file: { name: 'out-0.txt', contentType: 'text/plain', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, bytes }],
  });
}
await store.close();
process.send?.({ done: true }, () => process.exit(0));
