import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { readGoldenSet } from '../../src/conformance/index.js';
import { CaseData, compareOutputs } from '../../src/conformance/golden.js';
import { tensor } from '../../src/tensor/index.js';
import { writeSafetensors } from '../../src/weights/index.js';
import { ConfigError } from '../../src/errors.js';
import { goldenCase, goldenManifest, writeGoldenSet } from '../helpers/golden-sets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Asserts that the set with this manifest is refused with a ConfigError naming its manifest.json and `message`. */
function assertRefused(manifest: unknown, message: string): void {
  const dir = writeGoldenSet(manifest);
  dirs.push(dir);
  assert.throws(() => readGoldenSet(dir), (err: Error) => {
    assert.ok(err instanceof ConfigError, `${err.name}: ${err.message}`);
    assert.equal(err.message, `${join(dir, 'manifest.json')}: ${message}`);
    return true;
  });
}

describe('the golden manifest', () => {
  it('refuses a manifest that is not JSON, or not an object', () => {
    assertRefused('{"format": "kandinsky-golden/1", "cases": [', "golden manifest is not valid JSON (Unexpected end of JSON input)");
    assertRefused([], 'golden manifest must be a JSON object, got an array');
  });

  it('refuses another format, and a models_dir that is not a path', () => {
    assertRefused({ ...goldenManifest([]), format: 'kandinsky-golden/2' }, 'field "format" is "kandinsky-golden/2", expected "kandinsky-golden/1"');
    assertRefused({ ...goldenManifest([]), models_dir: 7 }, 'field "models_dir" is 7, expected a folder path');
  });

  it('refuses cases that are not an array of objects', () => {
    assertRefused({ ...goldenManifest([]), cases: { a: 1 } }, 'field "cases" is {"a":1}, expected an array of case objects');
    assertRefused(goldenManifest([goldenCase(), 'case 2']), 'case #1 is "case 2", expected an object');
  });

  it('refuses a case without a name, or with the name of an earlier one', () => {
    assertRefused(goldenManifest([goldenCase({ name: '' })]), 'case #0: field "name" is "", expected a non-empty string');
    assertRefused(goldenManifest([goldenCase(), goldenCase({ kind: 'clip_text' })]), 'case "randn" (#1): the name is taken by an earlier case; names must be unique');
  });

  it('refuses fields of a case that have not their documented type, naming the case', () => {
    assertRefused(goldenManifest([goldenCase({ kind: 3 })]), 'case "randn": field "kind" is 3, expected a string');
    assertRefused(goldenManifest([goldenCase({ model: ['a'] })]), 'case "randn": field "model" is ["a"], expected a string');
    assertRefused(goldenManifest([goldenCase({ tensors: null })]), 'case "randn": field "tensors" is null, expected a string');
    assertRefused(goldenManifest([goldenCase({ inputs: [1, 2] })]), 'case "randn": field "inputs" is [1,2], expected an object of named values');
    assertRefused(goldenManifest([goldenCase({ expected: undefined })]), 'case "randn": field "expected" is undefined, expected an object of named values');
  });

  it('refuses a tolerance that is not a non-negative max_abs', () => {
    assertRefused(goldenManifest([goldenCase({ tolerance: 0.1 })]), 'case "randn": field "tolerance" is 0.1, expected {"max_abs": a non-negative number}');
    assertRefused(goldenManifest([goldenCase({ tolerance: { max_abs: -1e-5 } })]), 'case "randn": field "tolerance.max_abs" is -0.00001, expected a non-negative number');
    assertRefused(goldenManifest([goldenCase({ tolerance: { max_abs: '1e-5' } })]), 'case "randn": field "tolerance.max_abs" is "1e-5", expected a non-negative number');
    assertRefused('{"format": "kandinsky-golden/1", "cases": [{"name": "x", "kind": "k", "inputs": {}, "expected": {}, "tolerance": {"max_abs": 1e999}}]}', 'case "x": field "tolerance.max_abs" is Infinity, expected a non-negative number');
  });

  it('keeps an integer beyond 2^53 (a uint64 seed) to the digit, and numbers inside strings as they are', () => {
    const dir = writeGoldenSet(
      '{"format": "kandinsky-golden/1", "cases": [{"name": "seed 18446744073709551615", "kind": "torch_randn", ' +
        '"inputs": {"seed": 18446744073709551615, "small": 9007199254740991, "float": 1.5e300}, "expected": {"d": [1]}, "tolerance": {"max_abs": 0}}]}',
    );
    dirs.push(dir);
    const [c] = readGoldenSet(dir).cases;
    assert.equal(c.name, 'seed 18446744073709551615');
    assert.deepEqual(c.inputs, { seed: '18446744073709551615', small: 9007199254740991, float: 1.5e300 });
  });
});

describe('the comparison rule', () => {
  /** A set of one case expecting the uint8 tensor `depth` = [10, 20, 30] within `maxAbs`. */
  function uint8Case(maxAbs: number): CaseData {
    const dir = writeGoldenSet(goldenManifest([goldenCase({ kind: 'depth_estimation', tensors: 'depth.safetensors', inputs: {}, expected: { depth: { tensor: 'depth' } }, tolerance: { max_abs: maxAbs } })]));
    dirs.push(dir);
    writeSafetensors(join(dir, 'depth.safetensors'), { depth: { dtype: 'U8', shape: [3], bytes: Uint8Array.from([10, 20, 30]) } });
    const set = readGoldenSet(dir);
    return new CaseData(set, set.cases[0]);
  }

  it('lets integer outputs differ by whole steps the tolerance allows (uint8 depth levels)', () => {
    const cmp = compareOutputs(uint8Case(1), { depth: tensor(Uint8Array.from([11, 20, 29]), [3]) });
    assert.deepEqual(cmp, { ok: true, maxAbs: 1 });
    assert.equal(compareOutputs(uint8Case(1), { depth: tensor(Uint8Array.from([10, 22, 30]), [3]) }).detail, 'depth[1] = 22, expected 20');
  });

  it('keeps integer outputs exact under a tolerance below 1', () => {
    assert.equal(compareOutputs(uint8Case(0.5), { depth: tensor(Uint8Array.from([10, 21, 30]), [3]) }).ok, false);
  });
});
