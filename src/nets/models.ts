import { join } from 'node:path';
import { InputError } from '../errors.js';
import { type Graph, NetworkSession } from '../onnx/index.js';
import { tensor, type Float32Tensor, type Int64Tensor, type Tensor } from '../tensor/index.js';
import { loadCheckpoint, readComponentConfig, type Checkpoint } from '../weights/index.js';
import { buildCLIPTextModel, parseCLIPTextModelConfig, type CLIPTextModelConfig } from './clip-text-model.js';
import { buildCLIPVisionModel, parseCLIPVisionModelConfig, type CLIPVisionModelConfig } from './clip-vision-model.js';
import { parseDPTConfig, type DPTConfig } from './dpt-config.js';
import { buildDPTForDepthEstimation } from './dpt-for-depth-estimation.js';
import { PREPACK_BY_DEFAULT, type NetworkKind, type NetworkLoadOptions } from './load.js';
import { buildPriorTransformer, parsePriorTransformerConfig, readClipStatistics, type PriorTransformerConfig } from './prior-transformer.js';
import { parseUNet2DConditionModelConfig, type UNet2DConditionModelConfig } from './unet-2d-condition-config.js';
import { buildUNet2DConditionModel } from './unet-2d-condition.js';
import { buildVQModelDecoder, buildVQModelEncoder, parseVQModelConfig, type VQModelConfig } from './vq-model.js';

// Typed handles over the graphs: the parsed config, and a forward pass with diffusers' argument and result
// names, so that a pipeline reads like diffusers' `__call__`. Each owns its sessions until `release()`.

interface Component<C> {
  readonly dir: string;
  readonly config: C;
  readonly checkpoint: Checkpoint;
}

function openComponent<C>(dir: string, parse: (json: Record<string, unknown>, source: string) => C, options: NetworkLoadOptions): Component<C> {
  const config = parse(readComponentConfig(dir), join(dir, 'config.json'));
  return { dir, config, checkpoint: loadCheckpoint(dir, { variant: options.variant }) };
}

function openSession(kind: NetworkKind, graph: Graph, options: NetworkLoadOptions): Promise<NetworkSession> {
  return NetworkSession.create(graph, { prepack: PREPACK_BY_DEFAULT[kind], ...options });
}

/** Every timestep the networks take is one int64 per batch row. */
function timesteps(t: number, batch: number): Int64Tensor {
  return tensor(new BigInt64Array(batch).fill(BigInt(t)), [batch]);
}

/** A network of one session: its parsed config, and the session to release when done. */
abstract class SingleSessionNetwork<C> {
  protected constructor(
    readonly config: C,
    protected readonly session: NetworkSession,
  ) {}

  release(): Promise<void> {
    return this.session.release();
  }
}

export class CLIPTextModelWithProjection extends SingleSessionNetwork<CLIPTextModelConfig> {

  static async load(dir: string, options: NetworkLoadOptions = {}): Promise<CLIPTextModelWithProjection> {
    const c = openComponent(dir, parseCLIPTextModelConfig, options);
    return new CLIPTextModelWithProjection(c.config, await openSession('clip_text', buildCLIPTextModel(c.config, c.checkpoint), options));
  }

  /** `text_embeds` [B, projection_dim] and `last_hidden_state` [B, seq, hidden]; no attention mask, as the prior pipeline calls it. */
  async forward(inputIds: Int64Tensor): Promise<{ textEmbeds: Float32Tensor; lastHiddenState: Float32Tensor }> {
    const out = await this.session.run({ input_ids: inputIds });
    return { textEmbeds: out.text_embeds, lastHiddenState: out.last_hidden_state };
  }
}

export class CLIPVisionModelWithProjection extends SingleSessionNetwork<CLIPVisionModelConfig> {

  static async load(dir: string, options: NetworkLoadOptions = {}): Promise<CLIPVisionModelWithProjection> {
    const c = openComponent(dir, parseCLIPVisionModelConfig, options);
    return new CLIPVisionModelWithProjection(c.config, await openSession('clip_vision', buildCLIPVisionModel(c.config, c.checkpoint), options));
  }

  /** `image_embeds` [B, projection_dim] of normalised pixel values [B, 3, image_size, image_size]. */
  async forward(pixelValues: Float32Tensor): Promise<Float32Tensor> {
    return (await this.session.run({ pixel_values: pixelValues })).image_embeds;
  }
}

export class PriorTransformer extends SingleSessionNetwork<PriorTransformerConfig> {
  private constructor(
    config: PriorTransformerConfig,
    /** `clip_mean` and `clip_std` [clip_embed_dim], read once. */
    readonly clipMean: Float32Array,
    readonly clipStd: Float32Array,
    session: NetworkSession,
  ) {
    super(config, session);
  }

  static async load(dir: string, options: NetworkLoadOptions = {}): Promise<PriorTransformer> {
    const c = openComponent(dir, parsePriorTransformerConfig, options);
    const { clipMean, clipStd } = readClipStatistics(c.checkpoint, c.config);
    const session = await openSession('prior_transformer', buildPriorTransformer(c.config, c.checkpoint), options);
    return new PriorTransformer(c.config, clipMean, clipStd, session);
  }

  /** `predicted_image_embedding` [B, clip_embed_dim], still normalised (see postProcessLatents). */
  async forward(a: {
    hiddenStates: Float32Tensor;
    timestep: number;
    projEmbedding: Float32Tensor;
    encoderHiddenStates: Float32Tensor;
    attentionMask: Tensor<Uint8Array>;
  }): Promise<Float32Tensor> {
    const batch = a.hiddenStates.shape[0];
    const out = await this.session.run({
      hidden_states: a.hiddenStates,
      timestep: timesteps(a.timestep, batch),
      proj_embedding: a.projEmbedding,
      encoder_hidden_states: a.encoderHiddenStates,
      attention_mask: a.attentionMask,
    });
    return out.predicted_image_embedding;
  }

  /** `latents * clip_std + clip_mean`, per row (float32, as the reference's broadcast). */
  postProcessLatents(latents: Float32Tensor): Float32Tensor {
    const d = this.clipMean.length;
    const out = new Float32Array(latents.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.fround(Math.fround(latents.data[i] * this.clipStd[i % d]) + this.clipMean[i % d]);
    return tensor(out, latents.shape);
  }
}

export class UNet2DConditionModel extends SingleSessionNetwork<UNet2DConditionModelConfig> {

  /** The parsed config.json alone, without loading a session (to check which form a repo's UNet has). */
  static readConfig(dir: string): UNet2DConditionModelConfig {
    return parseUNet2DConditionModelConfig(readComponentConfig(dir), join(dir, 'config.json'));
  }

  static async load(dir: string, options: NetworkLoadOptions = {}): Promise<UNet2DConditionModel> {
    const c = openComponent(dir, parseUNet2DConditionModelConfig, options);
    return new UNet2DConditionModel(c.config, await openSession('unet', buildUNet2DConditionModel(c.config, c.checkpoint), options));
  }

  /** The full output [B, out_channels, h, w] (noise, then the variance channels). */
  async forward(a: { sample: Float32Tensor; timestep: number; imageEmbeds: Float32Tensor; hint?: Float32Tensor }): Promise<Float32Tensor> {
    const feeds: Record<string, Tensor> = { sample: a.sample, timestep: timesteps(a.timestep, a.sample.shape[0]), image_embeds: a.imageEmbeds };
    if (this.config.additionEmbedType === 'image_hint') {
      if (!a.hint) throw new InputError('this UNet (addition_embed_type "image_hint") needs a hint');
      feeds.hint = a.hint;
    } else if (a.hint) {
      throw new InputError(`this UNet (addition_embed_type "${this.config.additionEmbedType}") takes no hint`);
    }
    return (await this.session.run(feeds)).out_sample;
  }
}

/**
 * Above this many latent pixels (a 1280x1280 image) the decoder runs without onnxruntime's memory arena: at
 * 2048x2048 the arena's kept and rounded-up blocks pushed the peak to 20 GB. Smaller decodes keep the arena,
 * which is faster (46 s instead of 33 s at 1024x1024 without it).
 */
const LARGE_DECODE_LATENT_PIXELS = 160 * 160;

/** Whether a MoVQ decode of latents this size runs without the memory arena (see above). */
export function isLargeDecode(latentHeight: number, latentWidth: number): boolean {
  return latentHeight * latentWidth > LARGE_DECODE_LATENT_PIXELS;
}

/** MoVQ. Each half is loaded on first use, so text-to-image never holds the encoder. */
export class VQModel {
  private encoder?: Promise<NetworkSession>;
  private decoder?: Promise<NetworkSession>;
  private largeDecoder?: Promise<NetworkSession>;

  private constructor(
    private readonly component: Component<VQModelConfig>,
    private readonly options: NetworkLoadOptions,
  ) {}

  static async load(dir: string, options: NetworkLoadOptions = {}): Promise<VQModel> {
    return new VQModel(openComponent(dir, parseVQModelConfig, options), options);
  }

  get config(): VQModelConfig {
    return this.component.config;
  }

  /** `movq_scale_factor`: 2 ** (len(block_out_channels) - 1). */
  get scaleFactor(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /** `encode(image).latents`: encoder + quant_conv, no quantisation, no scaling factor. */
  async encode(image: Float32Tensor): Promise<Float32Tensor> {
    this.encoder ??= openSession('movq_encoder', buildVQModelEncoder(this.config, this.component.checkpoint), this.options);
    return (await (await this.encoder).run({ image })).latents;
  }

  /** `decode(latents, force_not_quantize=True).sample`, nominally in [-1, 1]. */
  async decode(latents: Float32Tensor): Promise<Float32Tensor> {
    const session = isLargeDecode(latents.shape[2], latents.shape[3]) ? (this.largeDecoder ??= this.openDecoder({ memoryArena: false })) : (this.decoder ??= this.openDecoder({}));
    return (await (await session).run({ latents })).sample;
  }

  private openDecoder(extra: NetworkLoadOptions): Promise<NetworkSession> {
    return openSession('movq_decoder', buildVQModelDecoder(this.config, this.component.checkpoint, { forceNotQuantize: true }), { ...this.options, ...extra });
  }

  /** Releases the encoder only (img2img and inpainting need it once, before the loop). */
  async releaseEncoder(): Promise<void> {
    const e = this.encoder;
    this.encoder = undefined;
    if (e) await (await e).release();
  }

  async release(): Promise<void> {
    await this.releaseEncoder();
    const decoders = [this.decoder, this.largeDecoder];
    this.decoder = undefined;
    this.largeDecoder = undefined;
    for (const d of decoders) if (d) await (await d).release();
  }
}

/** transformers' DPTForDepthEstimation (the depth-estimation model of a ControlNet-depth hint from a photo). */
export class DPTForDepthEstimation extends SingleSessionNetwork<DPTConfig> {

  /** A transformers model folder: config.json and model.safetensors (or pytorch_model.bin). */
  static async load(dir: string, options: NetworkLoadOptions = {}): Promise<DPTForDepthEstimation> {
    const c = openComponent(dir, parseDPTConfig, options);
    return new DPTForDepthEstimation(c.config, await openSession('dpt', buildDPTForDepthEstimation(c.config, c.checkpoint), options));
  }

  /** `predicted_depth` [B, H, W] of normalised pixel values [B, 3, H, W] (H, W multiples of patch_size). */
  async forward(pixelValues: Float32Tensor): Promise<Float32Tensor> {
    const [, , height, width] = pixelValues.shape;
    const p = this.config.patchSize;
    if (pixelValues.shape.length !== 4 || height % p !== 0 || width % p !== 0) {
      throw new InputError(`DPTForDepthEstimation: pixel_values of shape [${pixelValues.shape.join(', ')}], expected [B, 3, H, W] with H and W multiples of patch_size ${p}`);
    }
    return (await this.session.run({ pixel_values: pixelValues })).predicted_depth;
  }
}

/** Bytes a component's weights take once loaded as float32 (what the CPU provider holds), from its headers alone. */
export function networkBytes(dir: string, variant?: string): number {
  let elements = 0;
  for (const t of loadCheckpoint(dir, { variant }).tensors.values()) elements += t.shape.reduce((a, b) => a * b, 1);
  return elements * 4;
}
