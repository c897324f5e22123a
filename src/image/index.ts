/** Images as Pillow sees them: PNG in and out, mode conversion, Pillow-exact resizing, CLIP preprocessing. */
export type { ImageMode, PilImage } from './image.js';
export { readPng, decodePng } from './png-decode.js';
export { encodePng, writePng } from './png-encode.js';
export { convert, type ConvertMode } from './convert.js';
export { resize, type ResizeOptions } from './resize.js';
export type { ResampleFilter } from './resample-filters.js';
export { CLIPImageProcessor } from './clip-image-processor.js';
export type { CLIPImageProcessorConfig, ResizeTarget } from './image-processor-config.js';
