/** Images as Pillow sees them: PNG/JPEG/WebP in and out, mode conversion, Pillow-exact resizing, CLIP preprocessing. */
export type { ImageMode, PilImage } from './image.js';
export { readPng, decodePng } from './png-decode.js';
export { encodePng, writePng } from './png-encode.js';
export { readImage, decodeImage, MAX_IMAGE_PIXELS } from './read-image.js';
export { toPilImages } from './numpy-to-pil.js';
export { encodeImage, writeImageFile, type EncodeOptions } from './encode.js';
export type { ImageFormat } from './image-format.js';
export { infotext, type GenerationParameters, type ModelSource, type InputFileDigest, type MixRecord } from './generation-parameters.js';
export { readEmbeddedParameters, readGenerationParameters, type EmbeddedParameters } from './embedded-parameters.js';
export { convert, type ConvertMode } from './convert.js';
export { resize, type ResizeOptions } from './resize.js';
export type { ResampleFilter } from './resample-filters.js';
export { CLIPImageProcessor } from './clip-image-processor.js';
export { DPTImageProcessor, parseDPTImageProcessorConfig, type DPTImageProcessorConfig } from './dpt-image-processor.js';
export type { CLIPImageProcessorConfig, ResizeTarget } from './image-processor-config.js';
