import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { PullProgress } from '../../src/weights/hub.js';
import { createPullProgress, formatBytes } from '../../src/weights/pull-progress.js';

function event(overrides: Partial<PullProgress>): PullProgress {
  return {
    event: 'data',
    file: 'unet/diffusion_pytorch_model.safetensors',
    bytes: 0,
    total: 5_010_000_000,
    bytesAllFiles: 0,
    totalBytesAllFiles: 5_300_000_000,
    cached: false,
    fileIndex: 2,
    fileCount: 7,
    ...overrides,
  };
}

function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream: PassThrough & { isTTY?: boolean } = new PassThrough();
  stream.isTTY = isTTY;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('pull progress', () => {
  it('writes one line per finished file when stderr is not a terminal', () => {
    const { stream, text } = capture(false);
    const view = createPullProgress(stream);
    view.onProgress(event({ event: 'start' }));
    view.onProgress(event({ bytes: 1_000_000 }));
    view.onProgress(event({ event: 'done', bytes: 5_010_000_000 }));
    view.onProgress(event({ event: 'done', file: 'unet/config.json', total: 1849, cached: true, fileIndex: 3 }));
    view.stop();
    assert.equal(
      text(),
      'downloaded unet/diffusion_pytorch_model.safetensors (5.0 GB) [2/7]\ncached unet/config.json (1.8 kB) [3/7]\n',
    );
  });

  it('draws bars and logs finished files on a terminal', () => {
    const { stream, text } = capture(true);
    const view = createPullProgress(stream);
    view.onProgress(event({ event: 'start' }));
    view.onProgress(event({ bytes: 2_505_000_000, bytesAllFiles: 2_505_000_000 }));
    view.onProgress(event({ event: 'done', bytes: 5_010_000_000, bytesAllFiles: 5_010_000_000 }));
    view.stop();
    assert.match(text(), /downloaded unet\/diffusion_pytorch_model\.safetensors \(5\.0 GB\)/);
    assert.match(text(), /5\.0 GB\/5\.3 GB \| file 2 of 7/);
  });

  it('formats sizes in decimal units as the hub does', () => {
    assert.deepEqual([0, 999, 1849, 3_504_588, 5_010_000_000].map(formatBytes), ['0 B', '999 B', '1.8 kB', '3.5 MB', '5.0 GB']);
  });
});
