export { numel, tensor, formatShape, type Tensor, type TensorData, type Float32Tensor, type Int64Tensor } from './tensor.js';
export { concat, rows, chunk, repeatInterleave, tile, guide, leadingChannels } from './ops.js';
