import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { cpuFeatures, type Device } from './devices.js';
import type { Graph } from './graph.js';

// Optimised models saved by onnxruntime and reused across runs (DESIGN.md "onnxruntime facts").
// Saved at level "extended", a model whose weights are float32 external data still points into the
// checkpoint files, so the cache holds graphs only. Where onnxruntime folds weights into new constants
// (a cast of fp16 weights, summed kernels), the saved file would be a second copy of the weights (and
// past 2 GB onnxruntime cannot even write it): the graph knows that when it is built
// (`Graph.foldsWeights`), and such graphs are never saved. A fold the graph did not foresee is caught
// by the saved file's size, and a marker remembers that so the save is not tried again.

export function defaultModelCacheDir(): string {
  return process.env.KANDINSKY_CACHE
    ? join(process.env.KANDINSKY_CACHE, 'onnx')
    : join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kandinsky', 'onnx');
}

/** Identity of everything an optimised model depends on: the graph, the weight files, provider, runtime, CPU. */
export function modelKey(graph: Graph, modelBytes: Uint8Array, device: Device): string {
  const h = createHash('sha256');
  h.update(modelBytes);
  for (const name of [...graph.externalFiles].sort()) {
    const st = statSync(join(graph.externalFolder!, name));
    h.update(`\0${name}:${st.size}:${st.mtimeMs}:${st.ino}`);
  }
  h.update(`\0${device}\0${ort.env.versions.common}\0${cpuFeatures()}`);
  return h.digest('hex').slice(0, 32);
}

/**
 * Constant folding may inline small derived tensors (norm scales reshaped for broadcasting), so a saved
 * model may grow by a sliver of its weights; more than that means onnxruntime copied weights into it.
 */
function copiesWeights(graph: Graph, modelBytes: Uint8Array, savedBytes: number): boolean {
  let weightBytes = 0;
  for (const name of graph.externalFiles) weightBytes += statSync(join(graph.externalFolder!, name)).size;
  return savedBytes > 2 * modelBytes.length + (64 << 10) + weightBytes / 100;
}

/**
 * The path of an optimised copy of the model, saved on first use; undefined when the model cannot be
 * cached without copying its weights.
 */
export async function optimisedModel(
  dir: string,
  key: string,
  graph: Graph,
  modelBytes: Uint8Array,
  session: Record<string, string>,
  device: Device,
): Promise<string | undefined> {
  if (graph.foldsWeights) return undefined;
  const path = join(dir, `${key}.onnx`);
  const refused = join(dir, `${key}.nocache`);
  if (existsSync(path)) return path;
  if (existsSync(refused)) return undefined;
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, `${key}.${process.pid}.partial.onnx`);
  try {
    // A session made only to save the model: no prepacking, so the weights are mapped, not read.
    const saver = await ort.InferenceSession.create(modelBytes, {
      executionProviders: [device],
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: partial,
      extra: { session: { ...session, disable_prepacking: '1' } },
    });
    await saver.release();
    if (copiesWeights(graph, modelBytes, statSync(partial).size)) {
      writeFileSync(refused, 'onnxruntime folded weights into the optimised model; not cached\n');
      return undefined;
    }
    renameSync(partial, path);
    return path;
  } finally {
    rmSync(partial, { force: true });
  }
}
