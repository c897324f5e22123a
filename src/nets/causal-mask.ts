import type { Graph, Value } from '../onnx/index.js';

/**
 * The longest sequence a config may ask a causal mask for: the mask is n^2 float32s built into the graph
 * (2048 tokens: 16 MiB) from a config size, so it is bounded before it is built. CLIP text encoders have 77
 * positions (long-context variants 248), the prior 77 + 4 tokens.
 */
export const MAX_CAUSAL_TOKENS = 2048;

/** An additive [n, n] mask: `masked` where the key comes after the query (torch.triu(.., 1)), 0 elsewhere. */
export function causalMask(g: Graph, n: number, masked: number): Value {
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) mask.fill(masked, i * n + i + 1, (i + 1) * n);
  return g.constant(mask, [n, n]);
}
