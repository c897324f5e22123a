export { Engine, DEFAULT_MEMORY_BUDGET } from './engine.js';
export { GenerationWorker } from './generation-worker.js';
export type { GenerationMode, GenerationRequest, GenerationResult, EngineOptions, MixEntry } from './request.js';
export { findModel, findPrior, weightsSha256, type FoundModel, type ModelSource, type FindModelOptions } from './models.js';
