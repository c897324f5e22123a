import type { GenerationRequest, GenerationResult } from '../../generation/index.js';
import type { StepEvent } from '../../pipelines/index.js';

/** One prediction, made ready to run by the catalogue. */
export interface PlannedRun {
  readonly request: GenerationRequest;
  /** `Using seed: N\n` and whatever else the model prints before its first step. */
  readonly logPrelude: string;
  /** The tqdm-style lines a step adds (each ending in `\n`). */
  logLines(event: StepEvent): string;
  /** The output files, in order (`out-0.webp`, …). */
  encodeOutputs(result: GenerationResult): Promise<readonly { name: string; contentType: string; bytes: Uint8Array }[]>;
}
