// The service as a library: start it, open its store, and the runner a worker uses for each prediction.
export { startServer, type RunningServer, type ServeOptions } from './server.js';
export { openStore } from './open-store.js';
export { PIPELINE_RUNNER, type CreateRunner, type PredictionRunner, type RunnerControl } from './worker/runner.js';
export type { RenderedOutput } from './models/index.js';
export { TERMINAL_STATUSES, type PredictionRecord, type PredictionStatus, type Store } from './types.js';
