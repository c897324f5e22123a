import { KandinskyError } from '../errors.js';

/** The denoising loops a generation runs: the prior (on the prompt, or on the negative text), then the decoder. */
export type Stage = 'prior' | 'negative_prior' | 'decoder';

export interface StepEvent {
  readonly stage: Stage;
  /** 1-based: the number of steps done. */
  readonly step: number;
  readonly total: number;
  /** Seconds since this stage's first step began. */
  readonly elapsed: number;
}

/** Progress and cancellation, accepted by every pipeline call. */
export interface RunControl {
  /** Honoured between steps (onnxruntime cannot stop a forward pass); the call then rejects with AbortedError. */
  readonly signal?: AbortSignal;
  readonly onStep?: (event: StepEvent) => void;
}

/** A generation stopped through its AbortSignal. */
export class AbortedError extends KandinskyError {
  constructor() {
    super('generation cancelled');
  }
}

export function throwIfAborted(control: RunControl): void {
  if (control.signal?.aborted) throw new AbortedError();
}

/**
 * Runs `total` steps of one stage: checks the signal before each, reports after each, and yields to the event
 * loop between them, so that an abort (or a message to a worker) is seen while onnxruntime holds the thread.
 */
export async function denoisingLoop(stage: Stage, total: number, control: RunControl, step: (i: number) => Promise<void>): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfAborted(control);
    await step(i);
    control.onStep?.({ stage, step: i + 1, total, elapsed: (performance.now() - started) / 1000 });
  }
}
