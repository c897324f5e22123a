export { runBench, type BenchOptions, type BenchTarget } from './bench.js';
export type { Measurement } from './measure.js';
