import { ConfigError } from '../errors.js';
import { CLIPImageProcessor, DPTImageProcessor, readPng } from '../image/index.js';
import { loadNetwork, type NetworkKind } from '../nets/index.js';
import type { NetworkSession } from '../onnx/index.js';
import { TorchGenerator } from '../random/index.js';
import { schedulerFromConfig, timestepsForStrength } from '../schedulers/index.js';
import { CLIPTokenizer } from '../tokenizer/index.js';
import { numel, tensor, type Float32Tensor, type Int64Tensor, type Tensor } from '../tensor/index.js';
import { cached, type KindHandler, type RunContext } from './context.js';
import type { CaseData } from './golden.js';
import { PIPELINE_KIND_HANDLERS } from './pipeline-kinds.js';

interface Draw {
  op: 'randn' | 'rand';
  shape: number[];
}

async function torchRandn(data: CaseData): Promise<Record<string, unknown>> {
  const g = new TorchGenerator();
  g.manualSeed(BigInt(data.input('seed') as number | string));
  const out: Record<string, unknown> = {};
  (data.input('draws') as Draw[]).forEach((d, i) => {
    if (d.op !== 'randn' && d.op !== 'rand') throw new ConfigError(`case ${data.c.name}: unknown draw op "${d.op}"`);
    out[`draw${i}`] = d.op === 'randn' ? g.randn(d.shape) : g.rand(d.shape);
  });
  return out;
}

async function clipTokenizer(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const dir = data.componentDir();
  const tokenizer = await cached(ctx, `tokenizer:${dir}`, () => CLIPTokenizer.fromPretrained(dir));
  const padding = data.c.inputs.padding as 'max_length' | 'longest' | false | undefined;
  const encoded = tokenizer.encode(data.input('texts') as string[], {
    maxLength: data.c.inputs.max_length as number | undefined,
    padding: padding ?? 'max_length',
    truncation: (data.c.inputs.truncation as boolean | undefined) ?? true,
  });
  return { input_ids: encoded.inputIds, attention_mask: encoded.attentionMask };
}

/** A network of the case's component folder, or of the model folder itself (transformers' layout has no components). */
function network(data: CaseData, ctx: RunContext, kind: NetworkKind): Promise<NetworkSession> {
  const dir = data.c.component === undefined ? data.modelDir() : data.componentDir();
  const variant = typeof data.c.variant === 'string' ? data.c.variant : undefined;
  return cached(ctx, `${kind}:${dir}:${variant ?? ''}`, () => loadNetwork(kind, dir, { variant, threads: ctx.threads, device: ctx.device }));
}

/** A timestep given as a JSON int (one for the whole batch) or as an int64 tensor [B]. */
function timesteps(data: CaseData, value: unknown, batch: number): Int64Tensor {
  if (data.isTensor(value)) return data.tensor(value) as Int64Tensor;
  return tensor(new BigInt64Array(batch).fill(BigInt(value as number)), [batch]);
}

function bool(t: Tensor): Tensor {
  return tensor(Uint8Array.from(t.data as BigInt64Array, (v) => (v ? 1 : 0)), t.shape);
}

async function clipImageProcessor(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const dir = data.componentDir();
  const processor = await cached(ctx, `image_processor:${dir}`, () => CLIPImageProcessor.fromPretrained(dir));
  return { pixel_values: processor.preprocess([readPng(data.imagePath(data.input('image')))]) };
}

async function dptImageProcessor(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const dir = data.modelDir();
  const processor = await cached(ctx, `dpt_image_processor:${dir}`, () => DPTImageProcessor.fromPretrained(dir));
  return { pixel_values: processor.preprocess(readPng(data.imagePath(data.input('image')))) };
}

async function dptDepth(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  return (await network(data, ctx, 'dpt')).run({ pixel_values: data.floatInput('pixel_values') });
}

async function clipText(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const mask = data.input('attention_mask');
  const feeds: Record<string, Tensor> = { input_ids: data.intInput('input_ids') };
  if (mask !== null) feeds.attention_mask = data.tensor(mask);
  const net = await network(data, ctx, mask === null ? 'clip_text' : 'clip_text_masked');
  return net.run(feeds);
}

async function clipVision(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  return (await network(data, ctx, 'clip_vision')).run({ pixel_values: data.floatInput('pixel_values') });
}

async function priorTransformer(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const hidden = data.floatInput('hidden_states');
  return (await network(data, ctx, 'prior_transformer')).run({
    hidden_states: hidden,
    timestep: timesteps(data, data.input('timestep'), hidden.shape[0]),
    proj_embedding: data.floatInput('proj_embedding'),
    encoder_hidden_states: data.floatInput('encoder_hidden_states'),
    attention_mask: bool(data.tensor(data.input('attention_mask'))),
  });
}

async function unet(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const sample = data.floatInput('sample');
  const added = data.input('added_cond_kwargs') as Record<string, unknown>;
  const feeds: Record<string, Tensor> = {
    sample,
    timestep: timesteps(data, data.input('timestep'), sample.shape[0]),
    image_embeds: data.tensor(added.image_embeds),
  };
  if (added.hint !== undefined && added.hint !== null) feeds.hint = data.tensor(added.hint);
  const out = await (await network(data, ctx, 'unet')).run(feeds);
  return { sample: out.out_sample };
}

async function movqEncode(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  return (await network(data, ctx, 'movq_encoder')).run({ image: data.floatInput('image') });
}

async function movqDecode(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const kind = data.input('force_not_quantize') === false ? 'movq_decoder_quantized' : 'movq_decoder';
  return (await network(data, ctx, kind)).run({ latents: data.floatInput('latents') });
}

/** set_timesteps, then one step per timestep on the case's model outputs, one generator for the whole loop. */
async function scheduler(data: CaseData): Promise<Record<string, unknown>> {
  const config = data.input('config') as Record<string, unknown>;
  const s = schedulerFromConfig(data.input('class') as string, config, `case ${data.c.name}: config (${String(data.c.config_source ?? 'inline')})`);
  s.setTimesteps(data.input('num_inference_steps') as number);
  const g = new TorchGenerator().manualSeed(BigInt(data.input('seed') as number | string));
  const outputs = data.floatInput('model_outputs');
  if (outputs.shape[0] !== s.timesteps.length) {
    throw new ConfigError(`case ${data.c.name}: ${outputs.shape[0]} model outputs for ${s.timesteps.length} timesteps`);
  }
  const rowShape = outputs.shape.slice(1);
  const row = numel(rowShape);
  let x = data.floatInput('sample');
  const samples = new Float32Array(s.timesteps.length * x.data.length);
  s.timesteps.forEach((t, i) => {
    const prevTimestep = data.c.inputs.prev_timestep === 'next' ? s.timesteps[i + 1] : undefined;
    const modelOutput: Float32Tensor = tensor(outputs.data.subarray(i * row, (i + 1) * row), rowShape);
    x = s.step(modelOutput, t, x, { generator: g, prevTimestep });
    samples.set(x.data, i * x.data.length);
  });
  return {
    timesteps: tensor(BigInt64Array.from(s.timesteps, BigInt), [s.timesteps.length]),
    samples: tensor(samples, [s.timesteps.length, ...x.shape]),
  };
}

/** The img2img / emb2emb start: the strength-cut schedule and the sample noised at its first timestep. */
async function schedulerAddNoise(data: CaseData): Promise<Record<string, unknown>> {
  const config = data.input('config') as Record<string, unknown>;
  const s = schedulerFromConfig(data.input('class') as string, config, `case ${data.c.name}: config (${String(data.c.config_source ?? 'inline')})`);
  const steps = data.input('num_inference_steps') as number;
  s.setTimesteps(steps);
  const timesteps = timestepsForStrength(s.timesteps, steps, data.input('strength') as number);
  return {
    timesteps: tensor(BigInt64Array.from(timesteps, BigInt), [timesteps.length]),
    noisy_samples: s.addNoise(data.floatInput('original_samples'), data.floatInput('noise'), timesteps[0]),
  };
}

export const KIND_HANDLERS: Record<string, KindHandler> = {
  torch_randn: { inputs: ['seed', 'draws'], run: torchRandn },
  clip_tokenizer: { inputs: ['texts', 'padding', 'max_length', 'truncation'], run: clipTokenizer },
  clip_image_processor: { inputs: ['image'], run: clipImageProcessor },
  dpt_image_processor: { inputs: ['image'], run: dptImageProcessor },
  dpt_depth: { inputs: ['pixel_values'], run: dptDepth },
  clip_text: { inputs: ['input_ids', 'attention_mask'], run: clipText },
  clip_vision: { inputs: ['pixel_values'], run: clipVision },
  prior_transformer: { inputs: ['hidden_states', 'timestep', 'proj_embedding', 'encoder_hidden_states', 'attention_mask'], run: priorTransformer },
  // The decoder UNet is conditioned through added_cond_kwargs (addition_embed_type "image"/"image_hint").
  unet: { inputs: ['sample', 'timestep', 'added_cond_kwargs'], nullInputs: ['encoder_hidden_states'], run: unet },
  movq_encode: { inputs: ['image'], run: movqEncode },
  movq_decode: { inputs: ['latents', 'force_not_quantize'], run: movqDecode },
  scheduler: { inputs: ['class', 'config', 'num_inference_steps', 'seed', 'sample', 'model_outputs', 'prev_timestep'], run: scheduler },
  scheduler_add_noise: { inputs: ['class', 'config', 'num_inference_steps', 'strength', 'original_samples', 'noise'], run: schedulerAddNoise },
  ...PIPELINE_KIND_HANDLERS,
};
