import { Graph, type Device } from '../onnx/index.js';
import { isLargeDecode, PREPACK_BY_DEFAULT, type NetworkKind } from '../nets/index.js';
import { numel, tensor, type Tensor } from '../tensor/index.js';
import { measureNetwork, type Measurement } from './measure.js';
import { benchNetwork, PUBLISHED_CONFIGS, type BenchConfigs } from './networks.js';
import { benchText2Img } from './text2img.js';

export type BenchTarget = 'unet' | 'movq' | 'prior' | 'text' | 'dpt' | 'text2img' | 'matmul' | 'all';

export interface BenchOptions {
  /** Image size in pixels (UNet: both 512 and 768 unless given; MoVQ and text-to-image: 512; DPT: 384). */
  size?: number;
  /** Batch (UNet, prior and text default 2, as classifier-free guidance runs them; MoVQ 1). */
  batch?: number;
  threads?: number;
  device?: Device;
  runs?: number;
  profile?: boolean;
  prepack?: boolean;
  /** Denoising steps of text-to-image: decoder (default 3) and prior (default 3). */
  steps?: number;
  priorSteps?: number;
  /** The network configs (default: the published ones; tests pass tiny ones). */
  configs?: BenchConfigs;
}

function ramp(shape: number[], scale = 1): Tensor<Float32Array> {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.7) * scale;
  return tensor(data, shape);
}

const int64 = (shape: number[], value: (i: number) => number): Tensor<BigInt64Array> =>
  tensor(BigInt64Array.from({ length: numel(shape) }, (_, i) => BigInt(value(i))), shape);

/** The network's builder over random weights, written (once, untimed) before it is measured. */
function networkGraph(kind: NetworkKind, config: Readonly<Record<string, unknown>>): { build: () => Graph; prepack: boolean } {
  return { build: benchNetwork(kind, config).build, prepack: PREPACK_BY_DEFAULT[kind] };
}

function matmulGraph(n: number): Graph {
  const g = new Graph('matmul');
  const a = g.input('a', 'float32', [n, n]);
  const b = g.input('b', 'float32', [n, n]);
  g.output(g.matmul(a, b), 'c');
  return g;
}

/**
 * Runs the benchmark and emits one measurement per line. Networks use the published configs with
 * random weights (written once to the bench cache), so no download is needed.
 */
export async function runBench(target: BenchTarget, o: BenchOptions, emit: (m: Measurement) => void): Promise<void> {
  const opts = { device: o.device, threads: o.threads, runs: o.runs, profile: o.profile };
  const netOpts = (net: { prepack: boolean }) => ({ ...opts, prepack: o.prepack ?? net.prepack });
  const want = (t: BenchTarget) => target === 'all' || target === t;
  const configs = o.configs ?? PUBLISHED_CONFIGS;

  if (want('matmul')) {
    const n = 4096;
    await measureNetwork('matmul 4096x4096', () => matmulGraph(n), { a: ramp([n, n]), b: ramp([n, n]) }, { size: n, batch: null }, opts, emit);
  }
  if (want('text')) {
    const batch = o.batch ?? 2;
    const ids = int64([batch, 77], (i) => (i % 77 === 0 ? 49406 : i % 77 < 12 ? 320 + (i % 50) : 49407));
    const net = networkGraph('clip_text', configs.textEncoder);
    await measureNetwork('text_encoder', net.build, { input_ids: ids }, { size: null, batch }, netOpts(net), emit);
  }
  if (want('prior')) {
    const batch = o.batch ?? 2;
    const net = networkGraph('prior_transformer', configs.prior);
    const feeds = {
      hidden_states: ramp([batch, 1280]),
      timestep: int64([batch], () => 500),
      proj_embedding: ramp([batch, 1280]),
      encoder_hidden_states: ramp([batch, 77, 1280]),
      attention_mask: tensor(Uint8Array.from({ length: batch * 77 }, (_, i) => (i % 77 < 12 ? 1 : 0)), [batch, 77]),
    };
    await measureNetwork('prior', net.build, feeds, { size: null, batch }, netOpts(net), emit);
  }
  if (want('unet')) {
    const batch = o.batch ?? 2;
    const net = networkGraph('unet', configs.unet);
    for (const size of o.size ? [o.size] : [512, 768]) {
      const h = size / 8;
      const feeds = { sample: ramp([batch, 4, h, h]), timestep: int64([batch], () => 500), image_embeds: ramp([batch, 1280]) };
      await measureNetwork('unet', net.build, feeds, { size, batch }, netOpts(net), emit);
    }
  }
  if (want('movq')) {
    const batch = o.batch ?? 1;
    const size = o.size ?? 512;
    const net = networkGraph('movq_decoder', configs.movq);
    await measureNetwork('movq_decode', net.build, { latents: ramp([batch, 4, size / 8, size / 8]) }, { size, batch }, { ...netOpts(net), memoryArena: !isLargeDecode(size / 8, size / 8) }, emit);
  }
  if (want('dpt')) {
    const batch = o.batch ?? 1;
    const size = o.size ?? 384;
    const net = networkGraph('dpt', configs.dpt);
    await measureNetwork('dpt', net.build, { pixel_values: ramp([batch, 3, size, size]) }, { size, batch }, netOpts(net), emit);
  }
  if (want('text2img')) {
    await benchText2Img({ configs, size: o.size ?? 512, steps: o.steps ?? 3, priorSteps: o.priorSteps ?? 3, device: o.device, threads: o.threads }, emit);
  }
}
