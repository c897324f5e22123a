/**
 * `torch.Generator("cpu")` re-implemented bit for bit (architecture doc §6; fixtures/golden/README.md,
 * kind `torch_randn`, which pins the reference x86-64 AVX2 build).
 */
import { InputError } from '../errors.js';
import { formatShape, numel, tensor, type Float32Tensor } from '../tensor/index.js';
import { MT19937 } from './mt19937.js';
import { BLOCK, normalFill } from './normal-fill.js';

/** `default_rng_seed_val`: the seed of a `torch.Generator()` that was never seeded. */
export const DEFAULT_SEED = 67280421310721n;

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
// Below this size (or for other dtypes) PyTorch takes the scalar double-precision path (§6.6).
const VECTORIZED_MIN_NUMEL = 16;

export class TorchGenerator {
  private engine = new MT19937(DEFAULT_SEED);
  // CPUGeneratorImpl keeps one spare sample of normal_distribution<double> between calls.
  private nextDoubleNormal: number | null = null;

  /**
   * `manual_seed`: accepts what PyTorch accepts, [-2^63, 2^64), negative seeds as two's complement.
   * Restarts the engine and drops the cached normal sample. Returns the generator, as PyTorch does.
   */
  manualSeed(seed: number | bigint): this {
    if (typeof seed === 'number' && !Number.isInteger(seed)) {
      throw new InputError(`manualSeed: the seed must be an integer, got ${seed}`);
    }
    const value = BigInt(seed);
    if (value < INT64_MIN || value > UINT64_MAX) {
      throw new InputError(`manualSeed: the seed must be in [-2^63, 2^64), got ${value}`);
    }
    this.engine = new MT19937(BigInt.asUintN(64, value));
    this.nextDoubleNormal = null;
    return this;
  }

  /** One 32-bit engine output, in [0, 2^32). */
  random(): number {
    return this.engine.nextUint32();
  }

  /** Two engine outputs, the first as the high word. */
  random64(): bigint {
    const high = this.engine.nextUint32();
    const low = this.engine.nextUint32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  /** `torch.rand(shape, generator=g)` in float32: one engine output per element, in memory order. */
  rand(shape: readonly number[]): Float32Tensor {
    const data = new Float32Array(checkedNumel('rand', shape));
    this.fillUniform(data, 0, data.length);
    return tensor(data, shape);
  }

  /** `torch.randn(shape, generator=g)` in float32. */
  randn(shape: readonly number[]): Float32Tensor {
    const n = checkedNumel('randn', shape);
    const data = new Float32Array(n);
    if (n >= VECTORIZED_MIN_NUMEL) this.normalFillAvx2(data);
    else for (let i = 0; i < n; i++) data[i] = this.normalDouble();
    return tensor(data, shape);
  }

  // normal_fill_AVX2: uniforms for every element first, then blocks of 16; a ragged end is redone as
  // one block over the last 16 elements, from 16 fresh uniforms.
  private normalFillAvx2(data: Float32Array): void {
    const n = data.length;
    const whole = n - (n % BLOCK);
    this.fillUniform(data, 0, n);
    normalFill(data, 0, whole);
    if (whole !== n) {
      this.fillUniform(data, n - BLOCK, n);
      normalFill(data, n - BLOCK, n);
    }
  }

  // uniform_real_distribution<float>(0, 1): 24 random bits scaled to [0, 1), exact in float32.
  private fillUniform(data: Float32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) data[i] = (this.engine.nextUint32() & 0xffffff) * 2 ** -24;
  }

  // uniform_real_distribution<double>(0, 1): 53 bits of random64().
  private uniformDouble(): number {
    const high = this.engine.nextUint32() & 0x1fffff;
    const low = this.engine.nextUint32();
    return (high * 2 ** 32 + low) * 2 ** -53;
  }

  // normal_distribution<double>: Box–Muller that hands out the cosine and keeps the sine for the next call.
  private normalDouble(): number {
    const cached = this.nextDoubleNormal;
    if (cached !== null) {
      this.nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const radius = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = radius * Math.sin(theta);
    return radius * Math.cos(theta);
  }
}

function checkedNumel(op: string, shape: readonly number[]): number {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(`${op}: shape ${formatShape(shape)} must be a list of non-negative integers`);
  }
  return numel(shape);
}
