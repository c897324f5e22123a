import type { StepEvent } from '../pipelines/index.js';
import type { EngineOptions, GenerationRequest, GenerationResult } from './request.js';

// What the host and the worker that owns the sessions say to each other.

export type ToWorker =
  | { readonly type: 'generate'; readonly id: number; readonly request: GenerationRequest }
  | { readonly type: 'abort'; readonly id: number }
  | { readonly type: 'release' };

export type FromWorker =
  | { readonly type: 'step'; readonly id: number; readonly event: StepEvent }
  | { readonly type: 'done'; readonly id: number; readonly result: GenerationResult }
  | { readonly type: 'error'; readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly stack?: string } }
  | { readonly type: 'released' };

export interface WorkerData {
  readonly engine: EngineOptions;
}
