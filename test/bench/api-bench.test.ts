import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kandinsky } from '../helpers/cli.js';

// `kandinsky bench api` is not run for its figures here (they need the machine to itself): only that it runs
// end to end, for a second, on SQLite.

const FIELDS = ['what', 'store', 'connections', 'seconds', 'count', 'per_second', 'p50_ms', 'p99_ms', 'max_ms', 'errors'];

describe('kandinsky bench api', () => {
  it('serves creates and gets with the instant stand-in runner and prints one JSON line per measurement', async () => {
    const r = await kandinsky(['bench', 'api', '--duration', '1', '--connections', '4']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    assert.deepEqual(lines.map((l) => l.what), ['api create', 'api create_to_start', 'api get']);
    for (const line of lines) {
      assert.deepEqual(Object.keys(line), FIELDS);
      assert.deepEqual([line.store, line.connections, line.errors], ['sqlite', 4, 0], JSON.stringify(line));
      assert.ok((line.count as number) > 0 && (line.p50_ms as number) <= (line.p99_ms as number), JSON.stringify(line));
    }
    // Every created prediction was started and finished by the worker (the stand-in answers at once).
    assert.equal(lines[1].count, lines[0].count);
  });

  it('refuses an unknown store before starting anything', async () => {
    const r = await kandinsky(['bench', 'api', '--store', 'mysql://x', '--duration', '1']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--store: expected "sqlite" or a postgres:\/\/ URL/);
  });
});
