import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConfigError, HubError, KandinskyError, WeightsError } from '../../src/errors.js';
import { resolveCachedSnapshot } from '../../src/weights/hf-cache.js';
import { pull, type PullProgress } from '../../src/weights/hub.js';
import { modelsDir } from '../helpers/fixtures.js';
import { startHubServer, type HubServer, type HubServerOptions, type RevisionAnswer } from '../helpers/hub-server.js';

const DECODER = 'kandinsky-community/kandinsky-2-2-decoder';
const PRIOR = 'kandinsky-community/kandinsky-2-2-prior';
const CONTROLNET = 'kandinsky-community/kandinsky-2-2-controlnet-depth';
const UNET = 'unet/diffusion_pytorch_model.safetensors';
const MOVQ = 'movq/diffusion_pytorch_model.safetensors';

const DECODER_FILES = [
  'README.md',
  'model_index.json',
  'movq/config.json',
  MOVQ,
  'scheduler/scheduler_config.json',
  'unet/config.json',
  UNET,
];

let server: HubServer;
let cacheDir: string;

async function restartServer(options: HubServerOptions): Promise<void> {
  await server.close();
  server = await startHubServer(options);
}

/** Pulls from the loopback hub into the temporary cache, whatever the caller's environment says. */
function pullFromServer(repoId: string, options: Parameters<typeof pull>[1] = {}): Promise<string> {
  return pull(repoId, { endpoint: server.endpoint, cacheDir, env: {}, ...options });
}

function filesUnder(folder: string, prefix = ''): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(folder, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

function downloadsOf(path: string): { url: string; range?: string }[] {
  return server.requests.filter((r) => r.origin === 'cdn' && r.url.includes(encodeURIComponent(path)));
}

function fixture(repoId: string, path: string): Buffer {
  return readFileSync(join(modelsDir, repoId.split('/')[1], path));
}

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'kandinsky-hub-'));
  server = await startHubServer();
});

afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
  await server.close();
});

describe('pull', () => {
  it('lays the decoder out as huggingface_hub does: blobs, relative symlinks in snapshots, refs/main', async () => {
    const snapshot = await pullFromServer(DECODER);

    const repoDir = join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder');
    const commit = server.commitOf(DECODER);
    assert.equal(snapshot, join(repoDir, 'snapshots', commit));
    assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), commit);
    assert.deepEqual(filesUnder(snapshot).sort(), [...DECODER_FILES].sort());
    for (const path of DECODER_FILES) {
      const link = join(snapshot, path);
      assert.ok(lstatSync(link).isSymbolicLink(), `${path} is a symlink`);
      const target = readlinkSync(link);
      assert.ok(!isAbsolute(target), `${path} links relatively, got ${target}`);
      assert.equal(join(snapshot, path, '..', target), join(repoDir, 'blobs', server.etagOf(DECODER, path)));
      assert.deepEqual(readFileSync(link), fixture(DECODER, path), `${path} matches the fixture`);
    }
    assert.deepEqual(readdirSync(join(repoDir, 'blobs')).filter((name) => name.endsWith('.incomplete')), []);
  });

  it('names LFS blobs by their sha256 and git files by their git blob id', async () => {
    await pullFromServer(DECODER);
    const blobs = readdirSync(join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder', 'blobs'));
    assert.ok(blobs.includes(server.etagOf(DECODER, UNET)) && /^[0-9a-f]{64}$/.test(server.etagOf(DECODER, UNET)));
    const configBlob = server.etagOf(DECODER, 'unet/config.json');
    assert.ok(blobs.includes(configBlob) && /^[0-9a-f]{40}$/.test(configBlob));
  });

  it('fetches safetensors and skips the fp16 variant unless asked', async () => {
    await restartServer({ extraFiles: { [DECODER]: { 'unet/diffusion_pytorch_model.bin': Buffer.from('pickle') } } });
    const snapshot = await pullFromServer(DECODER);
    assert.deepEqual(filesUnder(join(snapshot, 'unet')).sort(), ['config.json', 'diffusion_pytorch_model.safetensors']);
    assert.equal(server.requests.filter((r) => r.url.endsWith('.bin') || r.url.includes('fp16')).length, 0);
  });

  it('fetches the fp16 variant when asked, and default weights where no variant exists', async () => {
    const snapshot = await pullFromServer(DECODER, { variant: 'fp16' });
    assert.deepEqual(filesUnder(join(snapshot, 'unet')).sort(), ['config.json', 'diffusion_pytorch_model.fp16.safetensors']);
    assert.deepEqual(filesUnder(join(snapshot, 'movq')).sort(), ['config.json', 'diffusion_pytorch_model.safetensors']);
  });

  it('fetches .bin for controlnet-depth, which publishes no safetensors', async () => {
    const snapshot = await pullFromServer(CONTROLNET);
    assert.deepEqual(filesUnder(join(snapshot, 'unet')).sort(), ['config.json', 'diffusion_pytorch_model.bin']);
    assert.deepEqual(filesUnder(join(snapshot, 'movq')).sort(), ['config.json', 'diffusion_pytorch_model.bin']);
    assert.deepEqual(readFileSync(join(snapshot, 'unet/diffusion_pytorch_model.bin')), fixture(CONTROLNET, 'unet/diffusion_pytorch_model.bin'));
  });

  it('fetches every shard of the sharded text encoder with its index, and the tokenizer files', async () => {
    const snapshot = await pullFromServer(PRIOR);
    assert.deepEqual(filesUnder(join(snapshot, 'text_encoder')).sort(), [
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
    assert.deepEqual(filesUnder(join(snapshot, 'tokenizer')).sort(), [
      'merges.txt',
      'special_tokens_map.json',
      'tokenizer_config.json',
      'vocab.json',
    ]);
    assert.ok(!existsSync(join(snapshot, '.gitattributes')));
  });

  it('resumes a download cut mid-file with a Range request, and the result verifies', async () => {
    server.cutAfter(DECODER, UNET, 100_000);
    const snapshot = await pullFromServer(DECODER);
    const attempts = downloadsOf(UNET);
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0].range, undefined);
    assert.equal(attempts[1].range, 'bytes=100000-');
    assert.deepEqual(readFileSync(join(snapshot, UNET)), fixture(DECODER, UNET));
  });

  it('resumes from the partial file an earlier run left in blobs/', async () => {
    const blobs = join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder', 'blobs');
    await mkdir(blobs, { recursive: true });
    await writeFile(join(blobs, `${server.etagOf(DECODER, MOVQ)}.incomplete`), fixture(DECODER, MOVQ).subarray(0, 12345));
    const events: PullProgress[] = [];
    const snapshot = await pullFromServer(DECODER, { onProgress: (p) => events.push(p) });
    assert.deepEqual(downloadsOf(MOVQ).map((r) => r.range), ['bytes=12345-']);
    assert.deepEqual(readFileSync(join(snapshot, MOVQ)), fixture(DECODER, MOVQ));
    assert.equal(events.find((e) => e.file === MOVQ && e.event === 'start')?.bytes, 12345);
  });

  it('starts over when the server answers a Range request with the whole file', async () => {
    const blobs = join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder', 'blobs');
    await mkdir(blobs, { recursive: true });
    await writeFile(join(blobs, `${server.etagOf(DECODER, MOVQ)}.incomplete`), fixture(DECODER, MOVQ).subarray(0, 5000));
    server.ignoreRange(DECODER, MOVQ);
    const snapshot = await pullFromServer(DECODER);
    assert.deepEqual(downloadsOf(MOVQ).map((r) => r.range), ['bytes=5000-']);
    assert.deepEqual(readFileSync(join(snapshot, MOVQ)), fixture(DECODER, MOVQ));
  });

  it('detects a corrupted file, names it with both digests, and keeps no blob of it', async () => {
    server.corrupt(DECODER, UNET);
    const sha256 = server.etagOf(DECODER, UNET);
    await assert.rejects(pullFromServer(DECODER), (err: Error) => {
      assert.ok(err instanceof WeightsError);
      assert.match(err.message, new RegExp(`${UNET}.*sha256 [0-9a-f]{64}, expected ${sha256}`));
      return true;
    });
    const blobs = readdirSync(join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder', 'blobs'));
    assert.deepEqual(blobs.filter((name) => name.startsWith(sha256)), []);
  });

  it('says clearly that a repository does not exist', async () => {
    await assert.rejects(pullFromServer('kandinsky-community/kandinsky-9'), (err: Error) => {
      assert.ok(err instanceof KandinskyError);
      assert.ok(
        err.message.includes(`repository not found (or private): kandinsky-community/kandinsky-9 at main on ${server.endpoint}`),
        err.message,
      );
      return true;
    });
    assert.ok(!existsSync(join(cacheDir, 'models--kandinsky-community--kandinsky-9')));
  });

  it('says clearly that a revision does not exist', async () => {
    await assert.rejects(pullFromServer(DECODER, { revision: 'v9' }), /revision v9 not found in kandinsky-community\/kandinsky-2-2-decoder/);
  });

  it('points at HF_TOKEN when the hub refuses access, and sends the token to the hub but not to the CDN', async () => {
    await restartServer({ token: 'hf_secret' });
    await assert.rejects(pullFromServer(DECODER), /HTTP 401.*HF_TOKEN/);
    const snapshot = await pullFromServer(DECODER, { env: { HF_TOKEN: 'hf_secret' } });
    assert.deepEqual(readFileSync(join(snapshot, UNET)), fixture(DECODER, UNET));
    const authorized = server.requests.filter((r) => r.authorization === 'Bearer hf_secret');
    assert.ok(authorized.some((r) => r.url.startsWith('/api/models/')));
    assert.ok(authorized.some((r) => r.url.includes('/resolve/')));
    assert.deepEqual(server.requests.filter((r) => r.origin === 'cdn' && r.authorization !== undefined), []);
  });

  it('downloads nothing on a second pull', async () => {
    await pullFromServer(DECODER);
    const before = server.requests.length;
    const events: PullProgress[] = [];
    await pullFromServer(DECODER, { onProgress: (p) => events.push(p) });
    const after = server.requests.slice(before);
    assert.deepEqual(after.map((r) => r.url), [`/api/models/${DECODER}/revision/main?blobs=true`]);
    assert.deepEqual(events.map((e) => [e.event, e.cached]), DECODER_FILES.map(() => ['done', true]));
  });

  it('reports progress per file and for the whole pull', async () => {
    const events: PullProgress[] = [];
    await pullFromServer(DECODER, { onProgress: (p) => events.push(p) });
    const total = DECODER_FILES.reduce((sum, path) => sum + fixture(DECODER, path).length, 0);
    const done = events.filter((e) => e.event === 'done');
    assert.deepEqual(done.map((e) => e.file).sort(), [...DECODER_FILES].sort());
    assert.ok(events.every((e) => e.totalBytesAllFiles === total && e.fileCount === DECODER_FILES.length));
    assert.equal(done.at(-1)?.bytesAllFiles, total);
    const unet = events.filter((e) => e.file === UNET);
    assert.equal(unet[0].event, 'start');
    assert.ok(unet.every((e, i) => i === 0 || e.bytes >= unet[i - 1].bytes));
    assert.equal(unet.at(-1)?.bytes, fixture(DECODER, UNET).length);
    assert.ok(events.every((e, i) => i === 0 || e.bytesAllFiles >= events[i - 1].bytesAllFiles));
  });

  it('stops on abort, keeps the partial file, and the next pull resumes it', async () => {
    const controller = new AbortController();
    const pulling = pullFromServer(DECODER, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === MOVQ && p.event === 'data') controller.abort();
      },
    });
    await assert.rejects(pulling, { name: 'AbortError' });
    const blobs = join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder', 'blobs');
    assert.ok(existsSync(join(blobs, `${server.etagOf(DECODER, MOVQ)}.incomplete`)));
    assert.ok(!existsSync(join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder', 'refs')));
    const snapshot = await pullFromServer(DECODER);
    assert.deepEqual(readFileSync(join(snapshot, MOVQ)), fixture(DECODER, MOVQ));
  });

  it('never touches the network with HF_HUB_OFFLINE=1', async () => {
    await assert.rejects(pullFromServer(DECODER, { env: { HF_HUB_OFFLINE: '1' } }), /HF_HUB_OFFLINE.*not in the cache/);
    assert.equal(server.requests.length, 0);
    const online = await pullFromServer(DECODER);
    const before = server.requests.length;
    assert.equal(await pullFromServer(DECODER, { env: { HF_HUB_OFFLINE: 'true' } }), online);
    assert.equal(server.requests.length, before);
  });

  it('writes refs so that the cache resolves the snapshot by branch and by commit', async () => {
    const snapshot = await pullFromServer(DECODER);
    assert.equal(resolveCachedSnapshot(DECODER, 'main', cacheDir), snapshot);
    assert.equal(resolveCachedSnapshot(DECODER, server.commitOf(DECODER), cacheDir), snapshot);
  });

  it('pulls by commit without writing a ref', async () => {
    const commit = server.commitOf(DECODER);
    const snapshot = await pullFromServer(DECODER, { revision: commit });
    assert.ok(snapshot.endsWith(commit));
    assert.ok(!existsSync(join(cacheDir, 'models--kandinsky-community--kandinsky-2-2-decoder', 'refs')));
  });
});

describe('pull from a misbehaving hub', () => {
  const DECODER_DIR = 'models--kandinsky-community--kandinsky-2-2-decoder';
  // Tiny timeouts, so that giving up after every retry takes seconds.
  const timeouts = { connect: 1, idle: 0.2 };

  /** Asserts that `pulling` fails with a HubError whose message matches every pattern (a string: contains it). */
  async function refused(pulling: Promise<unknown>, ...patterns: (RegExp | string)[]): Promise<void> {
    await assert.rejects(pulling, (err: Error) => {
      assert.ok(err instanceof HubError, `${err.name}: ${err.message}`);
      for (const pattern of patterns) {
        if (typeof pattern === 'string') assert.ok(err.message.includes(pattern), `${err.message}\ndoes not contain\n${pattern}`);
        else assert.match(err.message, pattern);
      }
      return true;
    });
  }

  /** Every file in the decoder's blobs/ is at most as large as the hub announced its blob, and none is complete. */
  function assertNothingBeyondAnnounced(path: string): void {
    const blobs = join(cacheDir, DECODER_DIR, 'blobs');
    const names = existsSync(blobs) ? readdirSync(blobs) : [];
    assert.ok(!names.includes(server.etagOf(DECODER, path)), 'no blob of the refused file');
    const partial = names.find((name) => name === `${server.etagOf(DECODER, path)}.incomplete`);
    if (partial !== undefined) assert.ok(statSync(join(blobs, partial)).size <= fixture(DECODER, path).length);
  }

  function rewriteSibling(path: string, edit: (sibling: Record<string, unknown>) => void): (answer: RevisionAnswer) => RevisionAnswer {
    return (answer) => {
      const sibling = answer.siblings.find((s) => s.rfilename === path);
      assert.ok(sibling !== undefined);
      edit(sibling);
      return answer;
    };
  }

  it('gives up within seconds on a hub that accepts the connection and never answers, naming the URL', async () => {
    server.hang();
    const started = performance.now();
    await refused(
      pullFromServer(DECODER, { timeouts }),
      new RegExp(`reading revision main of ${DECODER}.* failed 5 times`),
      new RegExp(`${server.endpoint}/api/models/${DECODER}/revision/main\\?blobs=true: no data for 0.2 s \\(idle timeout; KANDINSKY_HUB_TIMEOUT`),
    );
    assert.ok(performance.now() - started < 8000, 'fails within seconds, not minutes');
    assert.equal(server.requests.length, 5, 'the revision request is retried');
    assert.ok(!existsSync(join(cacheDir, DECODER_DIR)));
  });

  it('reads the idle timeout from KANDINSKY_HUB_TIMEOUT and refuses one that is not a number of seconds', async () => {
    await assert.rejects(pullFromServer(DECODER, { env: { KANDINSKY_HUB_TIMEOUT: 'soon' } }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^KANDINSKY_HUB_TIMEOUT is "soon", expected a number of seconds above 0/);
      return true;
    });
    await assert.rejects(pullFromServer(DECODER, { timeouts: { connect: -1 } }), /the connect timeout is -1, expected/);
    assert.equal(server.requests.length, 0);
  });

  it('resumes with a Range request after a body goes silent mid-file', async () => {
    server.stallAfter(DECODER, UNET, 100_000);
    const snapshot = await pullFromServer(DECODER, { timeouts });
    assert.deepEqual(downloadsOf(UNET).map((r) => r.range), [undefined, 'bytes=100000-']);
    assert.deepEqual(readFileSync(join(snapshot, UNET)), fixture(DECODER, UNET));
  });

  it('retries the revision request after HTTP 503', async () => {
    server.failNext(2, 503);
    const snapshot = await pullFromServer(DECODER, { timeouts });
    assert.deepEqual(readFileSync(join(snapshot, UNET)), fixture(DECODER, UNET));
    assert.equal(server.requests.filter((r) => r.url.startsWith('/api/models/')).length, 3);
  });

  it('stops a body that runs past the announced size: nothing beyond it reaches the cache', async () => {
    server.oversize(DECODER, MOVQ, 100_000, { chunked: true });
    const size = fixture(DECODER, MOVQ).length;
    await refused(pullFromServer(DECODER, { timeouts }), new RegExp(`sent more than the ${size} bytes expected for ${MOVQ} of ${DECODER}`));
    assert.equal(downloadsOf(MOVQ).length, 1, 'a refusal is not retried');
    assertNothingBeyondAnnounced(MOVQ);
  });

  it('refuses a Content-Length above the announced size before reading the body', async () => {
    server.oversize(DECODER, MOVQ, 10);
    const size = fixture(DECODER, MOVQ).length;
    await refused(pullFromServer(DECODER, { timeouts }), new RegExp(`announces ${size + 10} bytes \\(Content-Length\\) for ${MOVQ}.*expected at most ${size}`));
    assertNothingBeyondAnnounced(MOVQ);
  });

  it('refuses a file whose size in the listing disagrees with the X-Linked-Size of its redirect', async () => {
    const size = fixture(DECODER, MOVQ).length;
    server.rewriteRevision(DECODER, rewriteSibling(MOVQ, (sibling) => {
      sibling.size = size - 1;
      (sibling.lfs as { size: number }).size = size - 1;
    }));
    await refused(pullFromServer(DECODER), new RegExp(`${MOVQ} of ${DECODER}: the hub's redirect announces X-Linked-Size ${size}, the revision API ${size - 1} bytes`));
    assertNothingBeyondAnnounced(MOVQ);
  });

  it('refuses a sibling whose rfilename is not a string', async () => {
    server.rewriteRevision(DECODER, rewriteSibling(UNET, (sibling) => {
      sibling.rfilename = 42;
    }));
    await refused(pullFromServer(DECODER), /revision\/main\?blobs=true: siblings\[\d+\]\.rfilename is 42, expected a path string/);
    assert.ok(!existsSync(join(cacheDir, DECODER_DIR)));
  });

  it('refuses an rfilename that would leave the snapshot folder', async () => {
    for (const path of ['../../../escaped.json', 'unet/../../escaped.json', '/tmp/escaped.json', 'unet\\..\\..\\escaped.json', 'unet//config.json']) {
      server.rewriteRevision(DECODER, rewriteSibling('unet/config.json', (sibling) => {
        sibling.rfilename = path;
      }));
      await refused(pullFromServer(DECODER), `rfilename is ${JSON.stringify(path)}, which would leave the snapshot folder`);
    }
    assert.ok(!existsSync(join(cacheDir, DECODER_DIR)));
    assert.ok(!existsSync(join(cacheDir, '..', 'escaped.json')));
  });

  it('refuses a revision answer that is not JSON, without retrying it', async () => {
    server.rewriteRevision(DECODER, () => '<html>502 Bad Gateway</html>');
    await refused(pullFromServer(DECODER), /revision\/main\?blobs=true did not answer with JSON, expected the revision API's answer/);
    assert.equal(server.requests.length, 1);
  });

  it('refuses every field of the revision answer that has not its documented type', async () => {
    const cases: [string, (answer: RevisionAnswer) => unknown, RegExp][] = [
      ['an array', () => [], /expected a JSON object with "sha" and "siblings", got \[\]/],
      ['a branch name as sha', (a) => ({ ...a, sha: 'main' }), /"sha" is "main", expected a 40-hex commit id/],
      ['siblings as an object', (a) => ({ ...a, siblings: {} }), /"siblings" is \{\}, expected an array/],
      ['a sibling that is null', (a) => ({ ...a, siblings: [null] }), /siblings\[0\] is null, expected an object/],
      ['a negative size', rewriteSibling('unet/config.json', (s) => void (s.size = -1)), /\(unet\/config\.json\)\.size is -1, expected a number of bytes/],
      ['a fractional size', rewriteSibling('unet/config.json', (s) => void (s.size = 1.5)), /\.size is 1\.5, expected a number of bytes/],
      ['a size as a string', rewriteSibling('unet/config.json', (s) => void (s.size = '741')), /\.size is "741", expected a number of bytes/],
      ['a short blobId', rewriteSibling('unet/config.json', (s) => void (s.blobId = 'abc')), /\.blobId is "abc", expected a 40-hex git object id/],
      ['an lfs.sha256 that is not 64-hex', rewriteSibling(UNET, (s) => void ((s.lfs as Record<string, unknown>).sha256 = 'x'.repeat(64))), /\.lfs\.sha256 is "x{64}", expected a 64-hex sha256/],
      ['an unsafe lfs.size', rewriteSibling(UNET, (s) => void ((s.lfs as Record<string, unknown>).size = 2 ** 60)), /\.lfs\.size is \d+, expected a number of bytes/],
    ];
    for (const [what, rewrite, pattern] of cases) {
      server.rewriteRevision(DECODER, rewrite);
      await assert.rejects(pullFromServer(DECODER), (err: Error) => {
        assert.ok(err instanceof HubError, `${what}: ${err.name}: ${err.message}`);
        assert.match(err.message, pattern, what);
        return true;
      });
    }
    assert.ok(!existsSync(join(cacheDir, DECODER_DIR)));
  });

  it('stops following redirects after ten', async () => {
    server.redirectLoop(DECODER, MOVQ);
    await refused(pullFromServer(DECODER), new RegExp(`/resolve/${server.commitOf(DECODER)}/${MOVQ}: more than 10 redirects`));
    assert.equal(downloadsOf(MOVQ).length, 0);
    assert.equal(server.requests.filter((r) => r.url.endsWith(MOVQ)).length, 11);
  });

  it('refuses an HF_ENDPOINT that is not an http(s) URL', async () => {
    await assert.rejects(pull(DECODER, { cacheDir, env: { HF_ENDPOINT: 'huggingface.co' } }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^HF_ENDPOINT is "huggingface.co", expected an http\(s\) URL/);
      return true;
    });
  });
});
