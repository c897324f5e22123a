import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timestepFrequencies } from '../../src/nets/timesteps.js';

describe('timestep frequencies', () => {
  it("are torch's float32 exp values, which are sometimes an ulp above the correctly rounded ones", () => {
    // From the reference's time_proj output for the tiny prior (dim 64, t = 999).
    const f = timestepFrequencies(32, 0);
    assert.equal(f[0], 1);
    assert.equal(f[11], 0.04216965287923813);
    assert.equal(f[14], 0.017782796174287796);
    assert.equal(f[21], 0.002371374052017927);
    assert.notEqual(f[11], Math.fround(Math.exp(Math.fround(Math.fround(-Math.log(10000)) * 11) / 32)));
  });

  it('fall from 1 towards 1/10000 over half the embedding', () => {
    const f = timestepFrequencies(1024, 0);
    assert.ok(f.every((x, j) => j === 0 || x < f[j - 1]));
    assert.ok(Math.abs(f[1023] / Math.exp(-Math.log(10000) * 1023 / 1024) - 1) < 1e-6);
  });
});
