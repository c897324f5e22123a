import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

describe('the kandinsky package', () => {
  it('exposes the library surface under its own name', async () => {
    const lib = await import('kandinsky');
    for (const name of ['loadNetwork', 'NetworkSession', 'CLIPTokenizer', 'TorchGenerator', 'CLIPImageProcessor', 'loadCheckpoint', 'pull', 'runConformance', 'KandinskyError']) {
      assert.equal(typeof (lib as Record<string, unknown>)[name], 'function', name);
    }
  });
});
