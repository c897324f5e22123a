import type { Graph, Value } from '../onnx/index.js';

/** An additive [n, n] mask: `masked` where the key comes after the query (torch.triu(.., 1)), 0 elsewhere. */
export function causalMask(g: Graph, n: number, masked: number): Value {
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) mask.fill(masked, i * n + i + 1, (i + 1) * n);
  return g.constant(mask, [n, n]);
}
