import type { Graph, Value } from '../onnx/index.js';

/**
 * conv3x3(nearest2x(x)), pad 1, computed without the upsampled map: each of the four output phases
 * (row parity a, column parity b) sees only two input rows and two input columns, so it is a 2x2 conv of
 * x with summed taps (phase 0 rows: [k0, k1+k2] over rows i-1, i; phase 1 rows: [k0+k1, k2] over rows
 * i, i+1; columns likewise). 16 multiply-adds per output instead of 36 (the summed kernels are folded
 * once at load); DepthToSpace interleaves the phases.
 */
export function upsampleNearest2xConv3x3(g: Graph, x: Value, weight: Value, bias: Value): Value {
  g.foldWeight();
  const phases = (w: Value, axis: number): [Value, Value] => {
    const [k0, k1, k2] = [0, 1, 2].map((i) => g.slice(w, [i], [i + 1], [axis]));
    return [g.concat([k0, g.add(k1, k2)], axis), g.concat([g.add(k0, k1), k2], axis)];
  };
  const outputs: Value[] = [];
  for (const [a, rows] of phases(weight, 2).entries()) {
    for (const [b, kernel] of phases(rows, 3).entries()) {
      outputs.push(g.conv2d(x, kernel, bias, { pad: [1 - a, 1 - b, a, b] }));
    }
  }
  // Channel block a*2+b holds phase (a, b): DepthToSpace's DCR order.
  return g.op('DepthToSpace', [g.concat(outputs, 1)], { blocksize: 2, mode: 'DCR' });
}
