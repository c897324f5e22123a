export { runBench, type BenchOptions, type BenchTarget } from './bench.js';
export type { Measurement } from './measure.js';
export { PUBLISHED_CONFIGS, type BenchConfigs } from './networks.js';
export type { Text2ImgTotal } from './text2img.js';
export { runApiBench, type ApiBenchOptions, type ApiMeasurement } from './api/api-bench.js';
