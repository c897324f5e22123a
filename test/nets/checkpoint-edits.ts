import { BYTES_PER_ELEMENT, type Checkpoint, type TensorInfo, type WeightDType } from '../../src/weights/tensor-info.js';

/** The checkpoint with one tensor taken out. */
export function withoutTensor(checkpoint: Checkpoint, name: string): Checkpoint {
  const tensors = new Map(checkpoint.tensors);
  if (!tensors.delete(name)) throw new Error(`test setup: ${name} is not in ${checkpoint.source}`);
  return { source: checkpoint.source, tensors };
}

/** The checkpoint with one tensor's recorded shape changed (its bytes are never read by a graph build). */
export function withShape(checkpoint: Checkpoint, name: string, shape: readonly number[]): Checkpoint {
  const tensors = new Map(checkpoint.tensors);
  const info = tensors.get(name);
  if (!info) throw new Error(`test setup: ${name} is not in ${checkpoint.source}`);
  tensors.set(name, { ...info, shape });
  return { source: checkpoint.source, tensors };
}

/**
 * A checkpoint that lists tensors by name and shape only, laid out back to back in one file that does not
 * exist: enough to build a graph (weights stay external) from a published config without its gigabytes.
 */
export function listedCheckpoint(source: string, shapes: ReadonlyMap<string, readonly number[]>, dtype: WeightDType = 'F32'): Checkpoint {
  const tensors = new Map<string, TensorInfo>();
  let offset = 0;
  for (const [name, shape] of shapes) {
    const byteLength = shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
    tensors.set(name, { name, dtype, shape, file: `${source}/model.safetensors`, offset, byteLength });
    offset += byteLength;
  }
  return { source, tensors };
}
