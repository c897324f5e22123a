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

/**
 * A checkpoint of random float32 weights with exactly the names and shapes the network needs, written
 * once to the bench cache (keyed by the config) and reused by later runs.
 */
export function randomCheckpoint(name: string, config: unknown, build: BuildFn): Checkpoint {
  const shapes = recordShapes(build);
  const key = createHash('sha256').update(JSON.stringify({ config, shapes: [...shapes] })).digest('hex').slice(0, 16);
  const dir = benchCacheDir();
  const path = join(dir, `${name}-${key}.safetensors`);
  if (!existsSync(path)) {
    const bytes = [...shapes.values()].reduce((a, s) => a + numel(s) * 4, 0);
    process.stderr.write(`bench: writing random ${name} weights (${(bytes / 1e9).toFixed(2)} GB) to ${path}, once\n`);
    mkdirSync(dir, { recursive: true });
    writeRandomSafetensors(`${path}.partial`, shapes);
    renameSync(`${path}.partial`, path);
  }
  return { source: path, tensors: new Map(readSafetensors(path).tensors.map((t) => [t.name, t])) };
}

function writeRandomSafetensors(path: string, shapes: Map<string, number[]>): void {
  const layout = [...shapes].map(([name, shape]): TensorLayout => ({ name, dtype: 'F32', shape, byteLength: numel(shape) * 4 }));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, encodeSafetensorsHeader(layout));
    let seed = 0x9e3779b9;
    const chunk = new Float32Array(1 << 20);
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
        writeSync(fd, new Uint8Array(chunk.buffer, 0, m * 4));
      }
    }
  } finally {
    closeSync(fd);
  }
}
