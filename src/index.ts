// The library's public surface: what a program embedding kandinsky imports.
export { KandinskyError, WeightsError, ConfigError, InputError, HubError } from './errors.js';
export { tensor, numel, type Tensor, type Float32Tensor, type Int64Tensor } from './tensor/index.js';
export { loadNetwork, NETWORK_BUILDERS, type NetworkKind, type NetworkLoadOptions } from './nets/index.js';
export { NetworkSession, availableDevices, defaultDevice, type Device, type SessionOptions } from './onnx/index.js';
export { CLIPTokenizer } from './tokenizer/index.js';
export { TorchGenerator } from './random/index.js';
export {
  CLIPImageProcessor, DPTImageProcessor, readPng, decodePng, encodePng, writePng, convert, resize, readImage, decodeImage, toPilImages, encodeImage, writeImageFile,
  readGenerationParameters, infotext, type PilImage, type GenerationParameters, type ImageFormat,
} from './image/index.js';
export { loadCheckpoint, readModelIndex, resolveModelPath, pull, hubCacheDir, type Checkpoint, type TensorInfo } from './weights/index.js';
export { loadScheduler, schedulerFromConfig, timestepsForStrength, UnCLIPScheduler, DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler, type Scheduler, type StepOptions } from './schedulers/index.js';
export { runConformance, type ConformanceReport } from './conformance/index.js';
export {
  KandinskyV22PriorPipeline, KandinskyV22PriorEmb2EmbPipeline, KandinskyV22Pipeline, KandinskyV22Img2ImgPipeline,
  KandinskyV22InpaintPipeline, KandinskyV22ControlnetPipeline, KandinskyV22ControlnetImg2ImgPipeline, generateCombined,
  priorEmbeddings, hintFromImage, HOSTED_NEGATIVE_SUFFIX, AbortedError, noiseSource, DepthEstimationPipeline, DEFAULT_DEPTH_MODEL,
  type DepthEstimationOutput, type PipelineOptions, type PriorOutput, type DecoderOutput, type StepEvent, type RunControl, type Generators,
} from './pipelines/index.js';
export { CLIPTextModelWithProjection, CLIPVisionModelWithProjection, DPTForDepthEstimation, PriorTransformer, UNet2DConditionModel, VQModel } from './nets/index.js';
export { Engine, GenerationWorker, type GenerationRequest, type GenerationResult, type GenerationMode, type EngineOptions } from './generation/index.js';
