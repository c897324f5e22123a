export type { Checkpoint, TensorInfo, WeightDType } from './tensor-info.js';
export { BYTES_PER_ELEMENT, checkpointTensor, isFloatDType } from './tensor-info.js';
export {
  readSafetensors, readTensorBytes, readFloat32, readInt64, writeSafetensors, encodeSafetensorsHeader,
  type SafetensorsFile, type TensorToWrite, type TensorLayout,
} from './safetensors.js';
export { readPytorchCheckpoint } from './pytorch-checkpoint.js';
export { loadCheckpoint, readComponentConfig, readModelIndex, type ComponentOptions, type ModelIndex } from './diffusers.js';
export { hubCacheDir, repoCacheDir, resolveCachedSnapshot, resolveModelPath, type ModelPathOptions } from './hf-cache.js';
export { pull, isHubOffline, DEFAULT_ENDPOINT, type PullOptions, type PullProgress } from './hub.js';
export { createPullProgress, formatBytes, type PullProgressView, type ProgressStream } from './pull-progress.js';
