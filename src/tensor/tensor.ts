/** A dense row-major tensor: the currency between networks, schedulers and pipelines. */
export type TensorData = Float32Array | BigInt64Array | Uint8Array | Int32Array;

export interface Tensor<D extends TensorData = TensorData> {
  readonly data: D;
  readonly shape: readonly number[];
}

export type Float32Tensor = Tensor<Float32Array>;
export type Int64Tensor = Tensor<BigInt64Array>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor<D extends TensorData>(data: D, shape: readonly number[]): Tensor<D> {
  if (data.length !== numel(shape)) {
    throw new RangeError(`tensor: ${data.length} values do not fill shape ${formatShape(shape)}`);
  }
  return { data, shape: [...shape] };
}

/** `[2, 4, height]`, for messages: symbolic dimensions (of graph inputs) print as their names. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}
