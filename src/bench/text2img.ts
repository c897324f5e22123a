import { onnxruntimeTime, type Device } from '../onnx/index.js';
import { generateCombined, KandinskyV22Pipeline, KandinskyV22PriorPipeline, type StepEvent } from '../pipelines/index.js';
import { TorchGenerator } from '../random/index.js';
import { benchRepos } from './bench-repos.js';
import { measurement, round, type Measurement } from './measure.js';
import type { BenchConfigs } from './networks.js';

export interface Text2ImgBenchOptions {
  readonly configs: BenchConfigs;
  readonly size: number;
  readonly steps: number;
  readonly priorSteps: number;
  readonly device?: Device;
  readonly threads?: number;
}

/** The last line: the whole generation, its peak memory, and how much of it was our own code. */
export interface Text2ImgTotal extends Measurement {
  /** Seconds outside onnxruntime (outside session creation and `run`): scheduler maths, copies, guidance, encoding. */
  readonly outside_onnxruntime_seconds: number;
  /** Seconds onnxruntime spent creating sessions (loading and optimising the networks). */
  readonly onnxruntime_load_seconds: number;
}

const PROMPT = 'a red cat sitting on a windowsill, oil painting';
/** Both loops run under classifier-free guidance (scale 4), so each network call is on two rows. */
const GUIDED_BATCH = 2;

/**
 * The whole text-to-image flow as the CLI runs it (`generateCombined`, diffusers flow, networks released after
 * their stage), over the benchmark's repos: one line per prior and decoder step, the MoVQ decode (its loading
 * included), and the total. Writing the random weights (once) is not timed.
 */
export async function benchText2Img(o: Text2ImgBenchOptions, emit: (m: Measurement) => void): Promise<void> {
  const repos = benchRepos(o.configs);
  const loadOptions = { device: o.device, threads: o.threads };
  const prior = await KandinskyV22PriorPipeline.fromPretrained(repos.prior, loadOptions);
  const decoder = new KandinskyV22Pipeline(repos.decoder, loadOptions);
  const line = (what: string, seconds: number, size: number | null, batch: number) => measurement(what, seconds, null, { size, batch }, loadOptions);

  const before = onnxruntimeTime();
  const started = performance.now();
  const lastElapsed = new Map<string, number>();
  const onStep = (e: StepEvent) => {
    const seconds = e.elapsed - (lastElapsed.get(e.stage) ?? 0);
    lastElapsed.set(e.stage, e.elapsed);
    emit(line(`text2img_${e.stage}_step`, seconds, e.stage === 'decoder' ? o.size : null, GUIDED_BATCH));
  };
  const { images: latents } = await generateCombined(
    prior, decoder,
    { prompt: PROMPT, priorNumInferenceSteps: o.priorSteps, generator: new TorchGenerator().manualSeed(0), onStep },
    { height: o.size, width: o.size, numInferenceSteps: o.steps, outputType: 'latent' },
  );
  const decodeStarted = performance.now();
  await decoder.decode(latents);
  const ended = performance.now();
  emit(line('text2img_movq_decode', (ended - decodeStarted) / 1000, o.size, 1));

  const after = onnxruntimeTime();
  const total = (ended - started) / 1000;
  const load = after.load - before.load;
  const summary: Text2ImgTotal = {
    ...line('text2img_total', total, o.size, 1),
    outside_onnxruntime_seconds: round(total - load - (after.run - before.run)),
    onnxruntime_load_seconds: round(load),
  };
  emit(summary);
}
