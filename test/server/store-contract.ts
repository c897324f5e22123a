// The behaviour every Store implementation owes the HTTP layer and the workers (src/server/types.ts),
// as one suite that each implementation's test file runs on its own store.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { InputError, KandinskyError, LeaseLostError } from '../../src/errors.js';
import { newPredictionId, newSecret, newUploadId } from '../../src/server/store/ids.js';
import { timestampNow, timestampOf } from '../../src/server/store/timestamps.js';
import { LEASE_LAPSED_ERROR, WEBHOOK_CLAIM_MS, type OutputFile, type PredictionRecord, type Store, type UploadedFile } from '../../src/server/types.js';

export interface StoreFixture {
  readonly store: Store;
  /** Another store on the same data; the ones before it may still be open (another process, in effect). */
  reopen(): Promise<Store>;
  /** Called once every store the test got is closed. */
  cleanup(): Promise<void>;
}

const VERSION = 'ad9d7879fbffa2874e1d909d1d37d9bc682889cc65b31f7bb00d2362619f194a';

export function newPrediction(overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    id: newPredictionId(), account: 'alice', model: 'ai-forever/kandinsky-2.2', version: VERSION, input: { prompt: 'a red cat' },
    status: 'starting', logs: '', output: null, error: null, createdAt: timestampNow(), startedAt: null, completedAt: null,
    webhook: null, webhookEventsFilter: null, stream: false, secret: newSecret(), cancelRequested: false, dataRemoved: false,
    ...overrides,
  };
}

export function outputOf(name: string, bytes: Uint8Array, contentType = 'image/webp'): { file: OutputFile; bytes: Uint8Array } {
  return { file: { name, contentType, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, bytes: new Uint8Array(bytes) };
}

function newUpload(bytes: Uint8Array, overrides: Partial<UploadedFile> = {}): UploadedFile {
  return {
    id: newUploadId(), account: 'alice', name: 'cat.png', contentType: 'image/png', size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'), md5: createHash('md5').update(bytes).digest('hex'),
    metadata: { note: 'ünïcode ✓' }, createdAt: timestampNow(), expiresAt: null, ...overrides,
  };
}

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const newestFirst = (a: PredictionRecord, b: PredictionRecord) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1);

export function describeStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  /** Runs `test` on a fresh store; `another()` opens more on the same data; all are closed afterwards. */
  async function withStore(test: (store: Store, another: () => Promise<Store>) => Promise<void>): Promise<void> {
    const fixture = await open();
    const stores = [fixture.store];
    try {
      await test(fixture.store, async () => {
        const s = await fixture.reopen();
        stores.push(s);
        return s;
      });
    } finally {
      for (const s of stores) await s.close();
      await fixture.cleanup();
    }
  }

  async function claimAndFinish(store: Store, outputs: { file: OutputFile; bytes: Uint8Array }[]): Promise<PredictionRecord> {
    const claimed = await store.claimNext('w1', 60_000);
    assert.ok(claimed);
    await store.finishPrediction(claimed.id, 'w1', { status: 'succeeded', outputs });
    return claimed;
  }

  describe(`${name}: the Store contract`, () => {
    it('gives a prediction back exactly as stored, its unicode input echoed key for key', () => withStore(async (store) => {
      const p = newPrediction({
        input: { prompt: 'ein Hund 🐕 — 猫 "quoted" \\ \n', width: 768, num_outputs: 2, negative_prompt: '', nested: { a: [1, 2.5, null, true] } },
        webhook: 'https://example.com/hook', webhookEventsFilter: ['start', 'completed'], stream: true,
      });
      assert.equal(await store.createPrediction(p), true);
      assert.deepEqual(await store.getPrediction(p.id), p);
      assert.deepEqual(Object.keys((await store.getPrediction(p.id))!.input), Object.keys(p.input));
      assert.equal(await store.getPrediction(newPredictionId()), undefined);
    }));

    it('refuses a second prediction with the same id, and an id that is not 26 base32 characters', () => withStore(async (store) => {
      const p = newPrediction();
      await store.createPrediction(p);
      await assert.rejects(store.createPrediction({ ...p, input: { prompt: 'other' } }), KandinskyError);
      await assert.rejects(store.createPrediction(newPrediction({ id: '../../etc/passwd' })), InputError);
      assert.deepEqual((await store.getPrediction(p.id))!.input, p.input);
    }));

    it('lists 250 predictions newest first, 100 a page, following next links down and previous links back up', () => withStore(async (store) => {
      const base = Date.parse('2024-09-12T22:22:51Z');
      // Three share each timestamp, so the id decides between them.
      const all = Array.from({ length: 250 }, (_, i) => newPrediction({ createdAt: timestampOf(base + Math.floor(i / 3) + 0.123) }));
      for (const p of [...all].reverse()) await store.createPrediction(p);
      const expected = [...all].sort(newestFirst).map((p) => p.id);

      const pages = [await store.listPredictions('alice', {})];
      while (pages.at(-1)!.next !== null) pages.push(await store.listPredictions('alice', { cursor: pages.at(-1)!.next! }));
      assert.deepEqual(pages.map((p) => p.results.length), [100, 100, 50]);
      assert.deepEqual(pages.flatMap((p) => p.results.map((r) => r.id)), expected);
      assert.equal(pages[0].previous, null);
      assert.ok(pages[1].previous !== null && pages[2].previous !== null);

      const back = await store.listPredictions('alice', { cursor: pages[2].previous! });
      assert.deepEqual(back.results.map((r) => r.id), pages[1].results.map((r) => r.id));
      const first = await store.listPredictions('alice', { cursor: back.previous! });
      assert.deepEqual(first.results.map((r) => r.id), expected.slice(0, 100));
      assert.equal(first.previous, null);
      assert.equal(first.next, pages[0].next);

      const small: string[] = [];
      for (let cursor: string | undefined; ;) {
        const page = await store.listPredictions('alice', { cursor, limit: 7 });
        small.push(...page.results.map((r) => r.id));
        if (page.next === null) break;
        cursor = page.next;
      }
      assert.deepEqual(small, expected);
    }));

    it('refuses a cursor it did not make and a limit outside 1..1000', () => withStore(async (store) => {
      await assert.rejects(store.listPredictions('alice', { cursor: 'cD0yMDI0LTA5LTEy' }), InputError);
      await assert.rejects(store.listPredictions('alice', { cursor: '!!!' }), InputError);
      await assert.rejects(store.listPredictions('alice', { limit: 0 }), InputError);
      await assert.rejects(store.listPredictions('alice', { limit: 1.5 }), InputError);
    }));

    it('filters the list to created_after (inclusive) and created_before (exclusive), in any ISO 8601 form', () => withStore(async (store) => {
      const days = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04'];
      const ps = days.map((d) => newPrediction({ createdAt: `${d}T00:00:00.000000Z` }));
      for (const p of ps) await store.createPrediction(p);
      const page = await store.listPredictions('alice', { createdAfter: '2024-01-02', createdBefore: '2024-01-04T01:00:00+01:00' });
      assert.deepEqual(page.results.map((r) => r.id), [ps[2].id, ps[1].id]);
      assert.equal(page.next, null);
      assert.equal(page.previous, null);
      await assert.rejects(store.listPredictions('alice', { createdAfter: 'yesterday' }), /created_after/);
    }));

    it('shows an account only its own predictions', () => withStore(async (store) => {
      const mine = newPrediction({ account: 'alice' });
      const theirs = newPrediction({ account: 'bob' });
      await store.createPrediction(mine);
      await store.createPrediction(theirs);
      assert.deepEqual((await store.listPredictions('alice', {})).results.map((r) => r.id), [mine.id]);
      assert.deepEqual((await store.listPredictions('bob', {})).results.map((r) => r.id), [theirs.id]);
      assert.deepEqual((await store.listPredictions('carol', {})).results, []);
    }));

    it('cancels a starting prediction at once, flags a processing one for its worker, and leaves a finished one as it was', () => withStore(async (store) => {
      const running = newPrediction();
      const queued = newPrediction();
      await store.createPrediction(running);
      await store.createPrediction(queued);
      await store.claimNext('w1', 60_000);

      const canceled = await store.cancelPrediction(queued.id);
      assert.equal(canceled?.status, 'canceled');
      assert.ok(canceled?.completedAt);
      assert.equal(canceled?.output, null);
      assert.equal(await store.claimNext('w1', 60_000), undefined, 'a canceled prediction is never claimed');

      const flagged = await store.cancelPrediction(running.id);
      assert.equal(flagged?.status, 'processing');
      assert.equal(flagged?.cancelRequested, true);
      await store.finishPrediction(running.id, 'w1', { status: 'canceled' });
      const finished = await store.getPrediction(running.id);
      assert.equal(finished?.status, 'canceled');
      assert.deepEqual(await store.cancelPrediction(running.id), finished);
      assert.deepEqual(await store.cancelPrediction(queued.id), canceled);
      assert.equal(await store.cancelPrediction(newPredictionId()), undefined);
    }));

    it('claims the oldest starting prediction first, each exactly once, with two stores claiming together', () => withStore(async (store, another) => {
      const other = await another();
      const base = Date.parse('2024-09-12T00:00:00Z');
      const ps = Array.from({ length: 40 }, (_, i) => newPrediction({ createdAt: timestampOf(base + i) }));
      for (const p of [...ps].sort(() => Math.random() - 0.5)) await store.createPrediction(p);

      const claimLoop = async (s: Store, worker: string) => {
        const claimed: PredictionRecord[] = [];
        for (let c; (c = await s.claimNext(worker, 60_000)) !== undefined;) claimed.push(c);
        return claimed;
      };
      const [a, b] = await Promise.all([claimLoop(store, 'a'), claimLoop(other, 'b')]);
      const ids = [...a, ...b].map((c) => c.id);
      assert.equal(new Set(ids).size, ids.length, 'no prediction claimed twice');
      assert.deepEqual([...ids].sort(), ps.map((p) => p.id).sort());
      for (const claimed of [a, b]) {
        assert.deepEqual(claimed.map((c) => c.createdAt), claimed.map((c) => c.createdAt).sort(), 'each claimer gets them oldest first');
        for (const c of claimed) {
          assert.equal(c.status, 'processing');
          assert.ok(c.startedAt !== null && c.startedAt >= c.createdAt);
        }
      }
    }));

    it('renews a held lease; once it lapses the prediction fails with the lease rule and the worker can no longer write', () => withStore(async (store) => {
      const p = newPrediction();
      await store.createPrediction(p);
      await store.claimNext('w1', 60_000);
      assert.equal(await store.renewLease(p.id, 'w1', 60_000), true);
      assert.equal(await store.renewLease(p.id, 'w2', 60_000), false, 'another worker does not hold it');
      assert.deepEqual(await store.recoverLapsedLeases(), []);

      const recovered = await store.recoverLapsedLeases(Date.now() + 120_000);
      const failed = await store.getPrediction(p.id);
      assert.deepEqual(recovered, [failed], 'returns the predictions it failed, as they now are');
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.error, LEASE_LAPSED_ERROR);
      assert.match(failed!.error!, /lease expired.*not retried/);
      assert.ok(failed?.completedAt);
      assert.equal(await store.renewLease(p.id, 'w1', 60_000), false);
      await assert.rejects(store.appendLogs(p.id, 'w1', 'late\n'), LeaseLostError);
      await assert.rejects(store.finishPrediction(p.id, 'w1', { status: 'succeeded', outputs: [outputOf('out-0.webp', randomBytes(10))] }), LeaseLostError);
      assert.equal(await store.readOutput(p.id, 'out-0.webp'), undefined);
      assert.equal((await store.getPrediction(p.id))?.status, 'failed');
      assert.deepEqual(await store.recoverLapsedLeases(Date.now() + 120_000), []);
    }));

    it('appends logs and finishes with output files whose bytes read back; only listed names are readable', () => withStore(async (store) => {
      const p = newPrediction();
      await store.createPrediction(p);
      await store.claimNext('w1', 60_000);
      await store.appendLogs(p.id, 'w1', 'Using seed: 4697\n');
      await store.appendLogs(p.id, 'w1', '100%|██████████| 25/25\n');
      const outputs = [outputOf('out-0.webp', randomBytes(300_000)), outputOf('out-1.webp', randomBytes(5))];
      await store.finishPrediction(p.id, 'w1', { status: 'succeeded', outputs });
      const done = await store.getPrediction(p.id);
      assert.equal(done?.status, 'succeeded');
      assert.equal(done?.logs, 'Using seed: 4697\n100%|██████████| 25/25\n');
      assert.deepEqual(done?.output, outputs.map((o) => o.file));
      assert.ok(done?.completedAt !== null && done!.completedAt >= done!.startedAt!);
      for (const o of outputs) assert.deepEqual(await store.readOutput(p.id, o.file.name), o.bytes);
      assert.equal(await store.readOutput(p.id, 'out-2.webp'), undefined);
      assert.equal(await store.readOutput(p.id, '../store.db'), undefined);
      await assert.rejects(store.appendLogs(p.id, 'w1', 'after\n'), LeaseLostError);
    }));

    it('fails a prediction with its error and no output, and refuses outputs for a result other than success', () => withStore(async (store) => {
      const p = newPrediction();
      await store.createPrediction(p);
      await store.claimNext('w1', 60_000);
      await assert.rejects(store.finishPrediction(p.id, 'w1', { status: 'failed', outputs: [outputOf('out-0.webp', randomBytes(3))] }), InputError);
      await assert.rejects(store.finishPrediction(p.id, 'w1', { status: 'succeeded', outputs: [outputOf('../x', randomBytes(3))] }), InputError);
      const lying = outputOf('out-0.webp', randomBytes(3));
      await assert.rejects(store.finishPrediction(p.id, 'w1', { status: 'succeeded', outputs: [{ ...lying, bytes: randomBytes(4) }] }), InputError);
      await store.finishPrediction(p.id, 'w1', { status: 'failed', error: 'CUDA out of memory' });
      const failed = await store.getPrediction(p.id);
      assert.equal(failed?.status, 'failed');
      assert.equal(failed?.error, 'CUDA out of memory');
      assert.equal(failed?.output, null);
    }));

    it('keeps predictions, outputs, uploads and deliveries across close and reopen', () => withStore(async (store, another) => {
      const finished = newPrediction({ createdAt: timestampOf(Date.now() - 1000) });
      const queued = newPrediction();
      await store.createPrediction(finished);
      await store.createPrediction(queued);
      const out = outputOf('out-0.png', randomBytes(1000), 'image/png');
      await claimAndFinish(store, [out]);
      const bytes = randomBytes(2000);
      const upload = newUpload(bytes);
      await store.createUpload(upload, bytes);
      await store.enqueueWebhook({ id: 'msg_1', predictionId: finished.id, url: 'https://example.com/h', event: 'completed', body: '{"a":1}', nextAttemptAt: 5 });
      const before = await store.getPrediction(finished.id);
      await store.close();
      await store.close();

      const reopened = await another();
      assert.deepEqual(await reopened.getPrediction(finished.id), before);
      assert.deepEqual(await reopened.getPrediction(queued.id), queued);
      assert.deepEqual(await reopened.readOutput(finished.id, 'out-0.png'), out.bytes);
      assert.deepEqual(await reopened.getUpload(upload.id), { file: upload, bytes: new Uint8Array(bytes) });
      assert.deepEqual((await reopened.dueWebhooks(10, 10)).map((d) => d.id), ['msg_1']);
      assert.equal((await reopened.claimNext('w2', 60_000))?.id, queued.id);
      await assert.rejects(store.getPrediction(finished.id), KandinskyError, 'a closed store refuses');
    }));

    it('hands out due webhook deliveries earliest first, hides each while claimed, reschedules failures and drops the last', () => withStore(async (store, another) => {
      const p = newPrediction();
      const delivery = (id: string, nextAttemptAt: number) => ({ id, predictionId: p.id, url: 'https://example.com/h', event: 'completed' as const, body: `{"id":"${id}"}`, nextAttemptAt });
      await store.enqueueWebhook(delivery('late', 3000));
      await store.enqueueWebhook(delivery('early', 1000));
      await store.enqueueWebhook(delivery('middle', 2000));
      await store.enqueueWebhook(delivery('future', 9000));

      const due = await store.dueWebhooks(5000, 10);
      assert.deepEqual(due.map((d) => d.id), ['early', 'middle', 'late']);
      assert.deepEqual(due[0], { ...delivery('early', 1000), attempts: 0 });
      const other = await another();
      assert.deepEqual(await other.dueWebhooks(5000, 10), [], 'claimed deliveries are not handed out twice');

      await store.webhookDelivered('early');
      await store.webhookFailed('middle', 6000);
      await store.webhookFailed('late', null);
      assert.deepEqual((await other.dueWebhooks(7000, 1)).map((d) => [d.id, d.attempts]), [['middle', 1]]);
      assert.deepEqual((await other.dueWebhooks(9000, 10)).map((d) => d.id), ['future']);
      assert.deepEqual((await store.dueWebhooks(7000 + WEBHOOK_CLAIM_MS, 10)).map((d) => d.id), ['middle'], 'an unreported claim comes due again');
      assert.deepEqual((await store.dueWebhooks(10 * WEBHOOK_CLAIM_MS, 10)).map((d) => d.id), ['future', 'middle']);
    }));

    it('stores uploads with their bytes, lists them per account newest first, and deletes them', () => withStore(async (store) => {
      const one = randomBytes(100);
      const two = new Uint8Array(0);
      const first = newUpload(one, { createdAt: '2024-01-01T00:00:00.000000Z', expiresAt: '2024-01-02T00:00:00.000000Z' });
      const second = newUpload(two, { name: 'empty.txt', contentType: 'text/plain', createdAt: '2024-01-01T00:00:01.000000Z' });
      const bobs = newUpload(one, { account: 'bob' });
      await store.createUpload(first, one);
      await store.createUpload(second, two);
      await store.createUpload(bobs, one);
      assert.deepEqual(await store.getUpload(first.id), { file: first, bytes: new Uint8Array(one) });
      assert.deepEqual(await store.getUpload(second.id), { file: second, bytes: two });
      assert.deepEqual(await store.listUploads('alice'), [second, first]);
      assert.deepEqual(await store.listUploads('bob'), [bobs]);
      assert.equal(await store.deleteUpload(first.id), true);
      assert.equal(await store.deleteUpload(first.id), false);
      assert.equal(await store.getUpload(first.id), undefined);
      assert.deepEqual(await store.listUploads('alice'), [second]);
      await assert.rejects(store.createUpload(newUpload(one, { id: '../store.db' }), one), InputError);
      await assert.rejects(store.createUpload(newUpload(one, { size: 99 }), one), InputError);
    }));

    it('removes input, output files and logs of predictions finished before the cutoff, and nothing else', () => withStore(async (store) => {
      const old = newPrediction({ input: { prompt: 'secret' } });
      const running = newPrediction();
      await store.createPrediction(old);
      await store.createPrediction(running);
      await store.claimNext('w1', 60_000);
      await store.appendLogs(old.id, 'w1', 'Using seed: 1\n');
      await store.finishPrediction(old.id, 'w1', { status: 'succeeded', outputs: [outputOf('out-0.webp', randomBytes(50))] });
      await store.claimNext('w2', 60_000);
      const cutoff = timestampOf(Date.now() + 1000);

      assert.equal(await store.removeDataOlderThan(timestampOf(Date.now() - 60_000)), 0);
      assert.equal(await store.removeDataOlderThan(cutoff), 1);
      const removed = await store.getPrediction(old.id);
      assert.equal(removed?.dataRemoved, true);
      assert.deepEqual(removed?.input, {});
      assert.equal(removed?.output, null);
      assert.equal(removed?.logs, '');
      assert.equal(removed?.status, 'succeeded');
      assert.equal(await store.readOutput(old.id, 'out-0.webp'), undefined);
      assert.equal((await store.getPrediction(running.id))?.dataRemoved, false, 'a running prediction keeps its data');
      assert.equal(await store.removeDataOlderThan(cutoff), 0, 'removed once');
      await assert.rejects(store.removeDataOlderThan('last week'), InputError);
    }));

    it('tells listeners about its own changes at once and about another instance\'s changes soon after', () => withStore(async (store, another) => {
      const other = await another();
      const seen: string[] = [];
      const stop = store.onChange((id) => seen.push(id));
      const mine = newPrediction();
      await store.createPrediction(mine);
      await eventually(() => seen.includes(mine.id), 1000, 'own create seen');

      const theirs = newPrediction();
      await other.createPrediction(theirs);
      await eventually(() => seen.includes(theirs.id), 3000, 'the other instance\'s create seen');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(seen, [mine.id, theirs.id], 'own changes are told once, not again by the poll');
      const claimed = await other.claimNext('w1', 60_000);
      await other.appendLogs(claimed!.id, 'w1', 'x');
      await eventually(() => seen.filter((id) => id === claimed!.id).length >= 2, 3000, 'the other instance\'s claim and logs seen');

      stop();
      const after = newPrediction();
      await other.createPrediction(after);
      await store.createPrediction(newPrediction());
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(!seen.includes(after.id), 'nothing after unsubscribing');
    }));

    it('refuses a new prediction, storing nothing, once maxQueue predictions are waiting', () => withStore(async (store) => {
      assert.equal(await store.createPrediction(newPrediction(), 2), true);
      assert.equal(await store.createPrediction(newPrediction(), 2), true);
      const refused = newPrediction();
      assert.equal(await store.createPrediction(refused, 2), false);
      assert.equal(await store.getPrediction(refused.id), undefined);
      await store.claimNext('w1', 60_000);
      assert.equal(await store.createPrediction(newPrediction(), 2), true, 'a running prediction does not count as waiting');
      assert.equal(await store.createPrediction(newPrediction()), true, 'no limit given');
    }));

    it('makes one server key and gives every instance the same bytes, also after a reopen', () => withStore(async (store, another) => {
      const [first, second] = await Promise.all([store.serverKey(), (await another()).serverKey()]);
      assert.equal(first.length, 32);
      assert.deepEqual(second, first);
      assert.deepEqual(await (await another()).serverKey(), first);
    }));
  });
}
