// The terminal view of a generation: one bar per stage on a TTY, plain lines otherwise (logs, CI, pipes).
import cliProgress from 'cli-progress';
import type { Stage, StepEvent } from '../pipelines/index.js';
import type { ProgressStream } from '../weights/index.js';
import { GenerationWorker, type EngineOptions, type GenerationRequest, type GenerationResult } from '../generation/index.js';

const LABELS: Record<Stage, string> = { prior: 'prior', negative_prior: 'negative prior', decoder: 'decoder' };

export interface GenerationProgressView {
  onStep: (event: StepEvent) => void;
  /** Leaves the terminal clean; call once the generation has settled, also after an error. */
  stop: () => void;
}

export function createGenerationProgress(stream: ProgressStream = process.stderr): GenerationProgressView {
  return stream.isTTY ? barView(stream) : lineView(stream);
}

function rate(e: StepEvent): string {
  return e.elapsed > 0 ? `${(e.step / e.elapsed).toFixed(2)} it/s` : '';
}

function lineView(stream: ProgressStream): GenerationProgressView {
  return {
    onStep: (e) => stream.write(`${LABELS[e.stage]} ${e.step}/${e.total} ${e.elapsed.toFixed(1)}s ${rate(e)}\n`),
    stop: () => {},
  };
}

function barView(stream: ProgressStream): GenerationProgressView {
  const bars = new cliProgress.MultiBar(
    { stream, format: ' {label} {bar} {value}/{total} | {duration_formatted} | {rate}', barsize: 30, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const byStage = new Map<Stage, cliProgress.SingleBar>();
  return {
    onStep: (e) => {
      let bar = byStage.get(e.stage);
      if (!bar) {
        bar = bars.create(e.total, 0, { label: LABELS[e.stage].padEnd(14), rate: '' });
        byStage.set(e.stage, bar);
      }
      bar.update(e.step, { rate: rate(e) });
    },
    stop: () => bars.stop(),
  };
}

/** One generation in a worker thread, with its progress on stderr; the worker is closed however it ends. */
export async function runInWorker(request: GenerationRequest, engine: EngineOptions, signal: AbortSignal): Promise<GenerationResult> {
  const worker = new GenerationWorker(engine);
  const view = createGenerationProgress();
  try {
    return await worker.generate(request, { signal, onStep: view.onStep });
  } finally {
    view.stop();
    await worker.close();
  }
}
