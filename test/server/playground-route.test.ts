import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServe, type Serve } from '../helpers/serve.js';

// The playground's files as `kandinsky serve` serves them at `/`, beside the API, and the one route the page needs
// that the API did not have: an upload's bytes.

describe('kandinsky serve: the playground route', () => {
  let serve: Serve;
  before(async () => {
    serve = await startServe();
  });
  after(() => serve.stop());

  const page = () => fetch(`${serve.url}/`);

  it('serves the page at / without caching, under a CSP that allows only its own origin, data: and blob:', async () => {
    const r = await page();
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await r.text(), /<title>Kandinsky playground<\/title>/);

    const policy = new Map(
      (r.headers.get('content-security-policy') ?? '').split(';').map((d) => {
        const [name, ...sources] = d.trim().split(/\s+/);
        return [name, sources] as const;
      }),
    );
    assert.deepEqual(policy.get('default-src'), ["'self'"]);
    assert.deepEqual(policy.get('script-src'), ["'self'"], 'no inline or remote script');
    assert.deepEqual(policy.get('object-src'), ["'none'"]);
    const allowed = new Set(["'self'", "'none'", 'data:', 'blob:', new URL(serve.url).origin]);
    for (const [name, sources] of policy) {
      for (const source of sources) assert.ok(allowed.has(source), `${name} allows ${source}`);
    }
  });

  it('serves the assets the page names with immutable caching', async () => {
    const html = await (await page()).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(assets.map((a) => a.split('.').pop()).sort(), ['css', 'js']);
    for (const asset of assets) {
      const r = await fetch(`${serve.url}${asset}`);
      assert.equal(r.status, 200, asset);
      assert.match(r.headers.get('content-type') ?? '', asset.endsWith('.js') ? /javascript/ : /text\/css/);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.ok((await r.arrayBuffer()).byteLength > 0);
    }
  });

  it('answers a path it does not serve with the API’s 404 body', async () => {
    for (const path of ['/nothing-here', '/assets/main-missing.js', '/v1/nothing-here']) {
      const r = await serve.fetch(`${serve.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.deepEqual(await r.json(), { detail: 'Not found.', status: 404 });
    }
  });

  it('GET /v1/files/{id}/download returns an upload’s bytes to its owner, and a 404 to another token', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255]);
    const form = new FormData();
    form.set('content', new Blob([bytes], { type: 'image/png' }), 'mask.png');
    const file = (await (await serve.fetch('/files', { method: 'POST', body: form })).json()) as { id: string };

    const own = await serve.fetch(`/files/${file.id}/download`);
    assert.equal(own.status, 200);
    assert.equal(own.headers.get('content-type'), 'image/png');
    assert.match(own.headers.get('content-disposition') ?? '', /mask\.png/);
    assert.deepEqual(Buffer.from(await own.arrayBuffer()), bytes);

    const other = await serve.fetch(`/files/${file.id}/download`, { headers: { authorization: 'Bearer r8_test_token_b' } });
    assert.equal(other.status, 404);
    assert.deepEqual(await other.json(), { detail: 'File not found' });
    assert.equal((await fetch(`${serve.api}/files/${file.id}/download`)).status, 401);
  });
});
