import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeImage } from '../../src/image/index.js';
import { HOSTED_VERSION, QUICK_INPUT, startServe } from '../helpers/serve.js';

// The test's own self-signed certificate: this process alone trusts it (each test file runs in its own process).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kandinsky-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

describe('kandinsky serve over TLS', () => {
  it('serves the API over https with --tls-cert/--tls-key, and https file URLs that need no token', async () => {
    const { cert, key } = selfSignedCertificate();
    const serve = await startServe(['--tls-cert', cert, '--tls-key', key]);
    try {
      assert.match(serve.url, /^https:\/\//);
      const r = await serve.fetch('/predictions', { method: 'POST', headers: { prefer: 'wait' }, json: { version: HOSTED_VERSION, input: QUICK_INPUT } });
      assert.equal(r.status, 201);
      const p = (await r.json()) as { status: string; output: string[]; urls: Record<string, string> };
      assert.equal(p.status, 'succeeded');
      assert.match(p.urls.get, /^https:\/\//);
      // With TLS the outputs are https URLs everywhere, fetched without the token.
      assert.match(p.output[0], /^https:\/\//);
      const file = await fetch(p.output[0]);
      assert.equal(file.status, 200);
      assert.equal(file.headers.get('content-type'), 'image/webp');
      const image = await decodeImage(new Uint8Array(await file.arrayBuffer()), 'out-0.webp');
      assert.deepEqual([image.width, image.height], [384, 384]);
    } finally {
      await serve.stop();
    }
  });

  it('refuses a certificate without its key, and a key file that is not one', async () => {
    const { cert } = selfSignedCertificate();
    await assert.rejects(startServe(['--tls-cert', cert]), /--tls-cert and --tls-key go together/);
    await assert.rejects(startServe(['--tls-cert', cert, '--tls-key', cert]), /--tls-key .*: not a PEM certificate and its private key/);
  });
});
