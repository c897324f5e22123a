// The Kandinsky 2.2 pipelines under diffusers' names, one file each (doc §4).
export { KandinskyV22PriorPipeline, KandinskyV22PriorBase, type PriorOutput, type PriorCallOptions, type PriorInterpolateOptions, type InterpolationCondition } from './prior.js';
export { KandinskyV22PriorEmb2EmbPipeline, type PriorEmb2EmbCallOptions } from './prior-emb2emb.js';
export { KandinskyV22Pipeline } from './text2image.js';
export { KandinskyV22Img2ImgPipeline, type Img2ImgCallOptions } from './img2img.js';
export { KandinskyV22InpaintPipeline, type InpaintCallOptions } from './inpaint.js';
export { KandinskyV22ControlnetPipeline, KandinskyV22ControlnetImg2ImgPipeline, hintFromImage, type ControlnetCallOptions, type ControlnetImg2ImgCallOptions } from './controlnet.js';
export { generateCombined, priorEmbeddings, HOSTED_NEGATIVE_SUFFIX, type CombinedCallOptions, type EmbeddingDecoder } from './combined.js';
export { KandinskyV22DecoderBase, latentSize, toImages, SCHEDULERS, type SchedulerName, type DecoderCallOptions, type DecoderOutput } from './decoder.js';
export { DepthEstimationPipeline, estimateDepthMap, DEFAULT_DEPTH_MODEL, type DepthEstimationOutput } from './depth-estimation.js';
export { cardPrior, priorFor, DEFAULT_PRIOR } from './model-card.js';
export { noiseSource, type Generators, type NoiseSource } from './random.js';
export { AbortedError, type RunControl, type StepEvent, type Stage } from './progress.js';
export type { PipelineOptions } from './components.js';
