import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Graph } from '../onnx/index.js';
import { numel } from '../tensor/index.js';
import { encodeSafetensorsHeader, readSafetensors, type Checkpoint, type TensorInfo, type TensorLayout } from '../weights/index.js';

export type BuildFn = (checkpoint: Checkpoint) => Graph;

export function benchCacheDir(): string {
  return process.env.KANDINSKY_BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kandinsky', 'bench');
}

/** Every weight a network asks for while its graph is built, in the order asked. */
function recordShapes(build: BuildFn): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const checkpoint: Checkpoint = {
    source: 'shape recorder',
    tensors: new Map(),
    synthesize: (name, shape): TensorInfo => {
      shapes.set(name, [...shape]);
      return { name, dtype: 'F32', shape, file: '/dev/null', offset: 0, byteLength: 0 };
    },
  };
  build(checkpoint);
  return shapes;
}

/** Random weights are stored as the published files store them: float32, or float16 (the image encoder). */
export type RandomDType = 'F32' | 'F16';

/**
 * A checkpoint of random weights with exactly the names and shapes the network needs, written once to the
 * bench cache (keyed by the config and dtype) and reused by later runs.
 */
export function randomCheckpoint(name: string, config: unknown, build: BuildFn, dtype: RandomDType = 'F32'): Checkpoint {
  const shapes = recordShapes(build);
  const key = createHash('sha256').update(JSON.stringify({ config, shapes: [...shapes], ...(dtype === 'F32' ? {} : { dtype }) })).digest('hex').slice(0, 16);
  const dir = benchCacheDir();
  const path = join(dir, `${name}-${key}.safetensors`);
  if (!existsSync(path)) {
    const bytes = [...shapes.values()].reduce((a, s) => a + numel(s) * BYTES[dtype], 0);
    process.stderr.write(`bench: writing random ${name} weights (${(bytes / 1e9).toFixed(2)} GB) to ${path}, once\n`);
    mkdirSync(dir, { recursive: true });
    writeRandomSafetensors(`${path}.${process.pid}.partial`, shapes, dtype);
    renameSync(`${path}.${process.pid}.partial`, path);
  }
  return { source: path, tensors: new Map(readSafetensors(path).tensors.map((t) => [t.name, t])) };
}

const BYTES: Record<RandomDType, number> = { F32: 4, F16: 2 };

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** IEEE half bits of x, rounded to nearest; magnitudes below half's normal range (6.1e-5) flush to zero. */
function toHalfBits(x: number): number {
  f32[0] = x;
  const bits = f32Bits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  if (exponent <= 0) return sign;
  return (sign | (exponent << 10) | ((bits >>> 13) & 0x3ff)) + ((bits >>> 12) & 1);
}

function writeRandomSafetensors(path: string, shapes: Map<string, number[]>, dtype: RandomDType): void {
  const layout = [...shapes].map(([name, shape]): TensorLayout => ({ name, dtype, shape, byteLength: numel(shape) * BYTES[dtype] }));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, encodeSafetensorsHeader(layout));
    let seed = 0x9e3779b9;
    const chunk = new Float32Array(1 << 20);
    const halves = new Uint16Array(chunk.length);
    for (const [name, shape] of shapes) {
      const n = numel(shape);
      // Norm scales 1 and biases 0 (names ending in weight of rank 1 are norms); matrices uniform with
      // variance 1/fan_in, so activations stay in range through deep stacks.
      const isVector = shape.length === 1;
      const fanIn = isVector ? 1 : n / shape[0];
      const bound = Math.sqrt(3 / fanIn);
      const constant = isVector ? (name.endsWith('weight') ? 1 : 0) : undefined;
      for (let done = 0; done < n; done += chunk.length) {
        const m = Math.min(chunk.length, n - done);
        for (let i = 0; i < m; i++) {
          if (constant !== undefined) {
            chunk[i] = constant;
          } else {
            seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
            chunk[i] = (seed / 4294967296 * 2 - 1) * bound;
          }
        }
        if (dtype === 'F32') {
          writeSync(fd, new Uint8Array(chunk.buffer, 0, m * 4));
        } else {
          for (let i = 0; i < m; i++) halves[i] = toHalfBits(chunk[i]);
          writeSync(fd, new Uint8Array(halves.buffer, 0, m * 2));
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}
