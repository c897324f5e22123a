/**
 * MT19937 as PyTorch's `at::mt19937` seeds and draws it (architecture doc §6.1,
 * aten/src/ATen/core/MT19937RNGEngine.h).
 */
const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class MT19937 {
  private readonly state = new Uint32Array(N);
  // PyTorch starts with left = 1, so the very first draw twists before it reads the state.
  private left = 1;
  private next = 0;

  /** `seed` is the generator's uint64 seed; only its low 32 bits reach the state, as in PyTorch. */
  constructor(seed: bigint) {
    const s = this.state;
    s[0] = Number(BigInt.asUintN(32, seed));
    for (let j = 1; j < N; j++) {
      const prev = s[j - 1];
      s[j] = Math.imul(1812433253, prev ^ (prev >>> 30)) + j;
    }
  }

  /** One 32-bit output, as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    if (--this.left === 0) {
      this.twist();
      this.left = N;
      this.next = 0;
    }
    let y = this.state[this.next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  // Regenerates all 624 words in place, in PyTorch's three loops (which avoid an index modulo).
  private twist(): void {
    const s = this.state;
    let k = 0;
    for (; k < N - M; k++) s[k] = s[k + M] ^ twisted(s[k], s[k + 1]);
    for (; k < N - 1; k++) s[k] = s[k + M - N] ^ twisted(s[k], s[k + 1]);
    s[N - 1] = s[M - 1] ^ twisted(s[N - 1], s[0]);
  }
}

// The upper bit of u and the lower 31 of v, shifted and multiplied by the twist matrix. The low bit of v
// picks MATRIX_A through a mask, not a branch: it is a coin flip, and mispredicting it made the twist 4x slower.
function twisted(u: number, v: number): number {
  return (((u & UPPER_MASK) | (v & LOWER_MASK)) >>> 1) ^ (-(v & 1) & MATRIX_A);
}
