import { InputError } from '../errors.js';
import { TorchGenerator } from '../random/index.js';
import { concat, type Float32Tensor } from '../tensor/index.js';

/** What diffusers' `generator=` takes: one generator, or one per batch row. */
export type Generators = TorchGenerator | readonly TorchGenerator[];

/** Where a pipeline's and its scheduler's normal draws come from (`randn_tensor`). */
export interface NoiseSource {
  randn(shape: readonly number[]): Float32Tensor;
}

/**
 * `randn_tensor(shape, generator)`: one generator draws the whole tensor; a list of more than one draws row i
 * from generator i (doc §4.0), and must have one per row. Without a generator, torch's default seed.
 */
export function noiseSource(generator: Generators | undefined): NoiseSource {
  if (generator === undefined) return new TorchGenerator();
  if (generator instanceof TorchGenerator) return generator;
  if (generator.length === 0) throw new InputError('generator: an empty list of generators');
  if (generator.length === 1) return generator[0];
  return {
    randn(shape) {
      if (shape[0] !== generator.length) {
        throw new InputError(`generator: a list of ${generator.length} generators, but the batch has ${shape[0]} rows (one generator per row)`);
      }
      return concat(generator.map((g) => g.randn([1, ...shape.slice(1)])));
    },
  };
}
