import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/errors.js';
import { openSqliteStore, STORE_FILE } from '../../src/server/store/sqlite-store.js';
import { describeStoreContract, newPrediction } from './store-contract.js';

const CHILD = fileURLToPath(new URL('./sqlite-store-child.js', import.meta.url));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kandinsky-sqlite-store-'));
}

describeStoreContract('SqliteStore', async () => {
  const dir = tempDir();
  return { store: await openSqliteStore(dir), reopen: () => openSqliteStore(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

/** Forks the child script on `dir`, collecting what it reports, until `stop` says enough or it exits. */
function runChild(mode: 'write' | 'claim', dir: string, stop: (messages: Record<string, string>[]) => boolean = () => false) {
  const child = fork(CHILD, [mode, dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: Record<string, string>[] = [];
  const exited = new Promise<number | null>((resolve) => {
    child.on('message', (m) => {
      messages.push(m as Record<string, string>);
      if (stop(messages)) child.kill('SIGKILL');
    });
    child.on('exit', (code) => resolve(code));
  });
  return { messages, exited };
}

describe('SqliteStore on disk', () => {
  it('creates store.db in WAL mode at schema version 1, making the data folder', async () => {
    const dir = tempDir();
    try {
      const store = await openSqliteStore(join(dir, 'data', 'nested'));
      await store.close();
      const db = new Database(join(dir, 'data', 'nested', STORE_FILE), { readonly: true });
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), 1);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a store.db that is not a database, a newer schema, and a data folder that is a file, naming the file', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, STORE_FILE), 'not a database, just text that is long enough to have a header'.repeat(20));
      await assert.rejects(openSqliteStore(dir), (e) => e instanceof StoreError && e.message.includes(join(dir, STORE_FILE)));

      const newer = join(dir, 'newer');
      await (await openSqliteStore(newer)).close();
      const db = new Database(join(newer, STORE_FILE));
      db.pragma('user_version = 99');
      db.close();
      await assert.rejects(openSqliteStore(newer), (e) => e instanceof StoreError && /schema version 99 is newer/.test(e.message));

      writeFileSync(join(dir, 'a-file'), '');
      await assert.rejects(openSqliteStore(join(dir, 'a-file')), StoreError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every prediction a killed process reported, its outputs whole, and recovers the one it held', async () => {
    const dir = tempDir();
    try {
      const { messages, exited } = runChild('write', dir, (m) => m.filter((x) => x.finished).length >= 25);
      assert.equal(await exited, null, 'killed, not exited');
      const db = new Database(join(dir, STORE_FILE));
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      db.close();

      const store = await openSqliteStore(dir);
      try {
        for (const { created, finished } of messages) {
          assert.ok(await store.getPrediction(created ?? finished), `prediction ${created ?? finished} is there`);
        }
        const all = (await store.listPredictions('alice', { limit: 1000 })).results;
        for (const p of all.filter((r) => r.status === 'succeeded')) {
          const bytes = await store.readOutput(p.id, p.output![0].name);
          assert.equal(createHash('sha256').update(bytes!).digest('hex'), p.output![0].sha256, `${p.id}'s output is whole`);
        }
        await store.recoverLapsedLeases(Date.now() + 120_000);
        const statuses = (await store.listPredictions('alice', { limit: 1000 })).results.map((r) => r.status);
        assert.ok(!statuses.includes('processing'), 'none stays processing');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shares one queue among worker processes: each prediction is claimed by exactly one', async () => {
    const dir = tempDir();
    try {
      const store = await openSqliteStore(dir);
      const ps = Array.from({ length: 60 }, () => newPrediction());
      for (const p of ps) await store.createPrediction(p);
      const children = [runChild('claim', dir), runChild('claim', dir), runChild('claim', dir)];
      assert.deepEqual(await Promise.all(children.map((c) => c.exited)), [0, 0, 0]);
      const claimed = children.flatMap((c) => c.messages.map((m) => m.claimed));
      assert.deepEqual([...claimed].sort(), ps.map((p) => p.id).sort());
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
