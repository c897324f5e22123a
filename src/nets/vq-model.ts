import { Graph, type Value, Weights } from '../onnx/index.js';
import type { Checkpoint } from '../weights/index.js';
import { ConfigFields } from '../config/index.js';
import { upsampleNearest2xConv3x3 } from './upsample-conv.js';

// VQModel (MoVQ) as diffusers builds it for Kandinsky 2.2: models/autoencoders/vq_model.py with the
// Encoder/Decoder/VectorQuantizer of vae.py. Architecture doc §2.5 (keys) and §3.7 (forward).

const DOWN_BLOCK_TYPES = ['DownEncoderBlock2D', 'AttnDownEncoderBlock2D'] as const;
const UP_BLOCK_TYPES = ['UpDecoderBlock2D', 'AttnUpDecoderBlock2D'] as const;
type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
type UpBlockType = (typeof UP_BLOCK_TYPES)[number];

/** Every MoVQ norm (resnets, attention, SpatialNorm, conv_norm_out) uses this eps. */
const EPS = 1e-6;
/** SpatialNorm builds its GroupNorm with 32 groups whatever `norm_num_groups` says. */
const SPATIAL_NORM_GROUPS = 32;

export interface VQModelConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly latentChannels: number;
  readonly numVqEmbeddings: number;
  readonly blockOutChannels: readonly number[];
  readonly downBlockTypes: readonly DownBlockType[];
  readonly upBlockTypes: readonly UpBlockType[];
  readonly layersPerBlock: number;
  readonly normNumGroups: number;
  readonly midBlockAddAttention: boolean;
}

/** Reads a VQModel config.json, filling diffusers' defaults; refuses what these graphs do not build. */
export function parseVQModelConfig(json: Record<string, unknown>, source: string): VQModelConfig {
  const f = new ConfigFields(json, source);
  const latentChannels = f.int('latent_channels', 3);
  const blockOutChannels = f.ints('block_out_channels', [64]);
  const n = blockOutChannels.length;
  const downBlockTypes = f.blockTypes('down_block_types', DOWN_BLOCK_TYPES, ['DownEncoderBlock2D'], n);
  const upBlockTypes = f.blockTypes('up_block_types', UP_BLOCK_TYPES, ['UpDecoderBlock2D'], n);
  const normNumGroups = f.int('norm_num_groups', 32);
  f.oneOf('norm_type', ['spatial'], 'group');
  f.oneOf('act_fn', ['silu', 'swish'], 'silu');
  // With lookup_from_codebook, decode(force_not_quantize=True) takes codebook indices instead of latents.
  f.exactly('lookup_from_codebook', false, false);
  // The decoder's SpatialNorms are conditioned on the quantized latents through convs sized for latent_channels.
  f.oneOf('vq_embed_dim', [latentChannels, null], null);

  blockOutChannels.forEach((ch, i) => {
    f.require(ch % normNumGroups === 0, `field "block_out_channels" [${i}] = ${ch} is not a multiple of "norm_num_groups" ${normNumGroups}`);
    f.require(ch % SPATIAL_NORM_GROUPS === 0, `field "block_out_channels" [${i}] = ${ch} is not a multiple of 32, which the decoder's SpatialNorm (32 groups) needs`);
  });
  return {
    inChannels: f.int('in_channels', 3),
    outChannels: f.int('out_channels', 3),
    latentChannels,
    numVqEmbeddings: f.int('num_vq_embeddings', 256),
    blockOutChannels,
    downBlockTypes,
    upBlockTypes,
    layersPerBlock: f.int('layers_per_block', 1),
    normNumGroups,
    midBlockAddAttention: f.bool('mid_block_add_attention', true),
  };
}

// ---------------------------------------------------------------- encoder

/**
 * `VQModel.encode`: input `image` [batch, in_channels, height, width] in [-1, 1] -> output `latents`
 * [batch, latent_channels, height/8, width/8] = quant_conv(encoder(image)); not quantized, not scaled.
 */
export function buildVQModelEncoder(config: VQModelConfig, checkpoint: Checkpoint): Graph {
  const g = new Graph('movq_encoder');
  const w = new Weights(g, checkpoint);
  const c = config;
  const image = g.input('image', 'float32', ['batch', c.inChannels, 'height', 'width']);
  const top = c.blockOutChannels.at(-1)!;

  const e = w.sub('encoder');
  let x = e.conv2d(image, 'conv_in', c.inChannels, c.blockOutChannels[0], 3);
  for (const [i, type] of c.downBlockTypes.entries()) {
    const block = {
      in: c.blockOutChannels[Math.max(i - 1, 0)],
      out: c.blockOutChannels[i],
      attention: type === 'AttnDownEncoderBlock2D',
      downsample: i < c.blockOutChannels.length - 1,
    };
    x = downEncoderBlock(g, e.sub(`down_blocks.${i}`), x, block, c);
  }
  x = encoderMidBlock(g, e.sub('mid_block'), x, top, c);
  x = e.conv2d(g.silu(e.groupNorm(x, 'conv_norm_out', c.normNumGroups, top, EPS)), 'conv_out', top, c.latentChannels, 3);

  g.output(w.conv2d(x, 'quant_conv', c.latentChannels, c.latentChannels, 1), 'latents');
  return g;
}

interface BlockShape {
  readonly in: number;
  readonly out: number;
  readonly attention: boolean;
}

/** DownEncoderBlock2D / AttnDownEncoderBlock2D: resnets (each followed by attention in the Attn form), then a downsample. */
function downEncoderBlock(g: Graph, w: Weights, x: Value, b: BlockShape & { downsample: boolean }, c: VQModelConfig): Value {
  for (let j = 0; j < c.layersPerBlock; j++) {
    x = resnetBlock(g, w.sub(`resnets.${j}`), x, j === 0 ? b.in : b.out, b.out, c.normNumGroups);
    if (b.attention) x = encoderAttention(g, w.sub(`attentions.${j}`), x, b.out, c.normNumGroups);
  }
  // Downsample2D with padding 0: zero-pad right and bottom by one, then a 3x3 stride-2 conv.
  return b.downsample ? w.conv2d(x, 'downsamplers.0.conv', b.out, b.out, 3, { stride: 2, pad: [0, 0, 1, 1] }) : x;
}

/** UNetMidBlock2D without time embedding: resnet, [attention], resnet. */
function encoderMidBlock(g: Graph, w: Weights, x: Value, channels: number, c: VQModelConfig): Value {
  x = resnetBlock(g, w.sub('resnets.0'), x, channels, channels, c.normNumGroups);
  if (c.midBlockAddAttention) x = encoderAttention(g, w.sub('attentions.0'), x, channels, c.normNumGroups);
  return resnetBlock(g, w.sub('resnets.1'), x, channels, channels, c.normNumGroups);
}

/** ResnetBlock2D with no time embedding (temb_channels None). */
function resnetBlock(g: Graph, w: Weights, x: Value, inChannels: number, outChannels: number, groups: number): Value {
  let h = w.conv2d(g.silu(w.groupNorm(x, 'norm1', groups, inChannels, EPS)), 'conv1', inChannels, outChannels, 3);
  h = w.conv2d(g.silu(w.groupNorm(h, 'norm2', groups, outChannels, EPS)), 'conv2', outChannels, outChannels, 3);
  const skip = inChannels === outChannels ? x : w.conv2d(x, 'conv_shortcut', inChannels, outChannels, 1);
  return g.add(skip, h);
}

/** Encoder Attention: GroupNorm over the tokens' channels, single-head self-attention, residual. */
function encoderAttention(g: Graph, w: Weights, x: Value, channels: number, groups: number): Value {
  const normed = w.groupNorm(x, 'group_norm', groups, channels, EPS);
  return g.add(x, spatialSelfAttention(g, w, normed, channels));
}

// ---------------------------------------------------------------- decoder

export interface VQDecoderOptions {
  /** True skips the vector quantizer (what every Kandinsky pipeline does); false snaps latents to the codebook. */
  readonly forceNotQuantize: boolean;
}

/**
 * `VQModel.decode`: input `latents` [batch, latent_channels, h, w] -> output `sample` [batch, out_channels, 8h, 8w]
 * (nominally in [-1, 1]). The (possibly quantized) latents feed post_quant_conv and condition every SpatialNorm.
 */
export function buildVQModelDecoder(config: VQModelConfig, checkpoint: Checkpoint, options: VQDecoderOptions): Graph {
  const g = new Graph(options.forceNotQuantize ? 'movq_decoder' : 'movq_decoder_quantized');
  const w = new Weights(g, checkpoint);
  const c = config;
  const latents = g.input('latents', 'float32', ['batch', c.latentChannels, 'height', 'width']);
  const zq = options.forceNotQuantize ? latents : vectorQuantize(g, w.sub('quantize'), latents, c);
  const reversed = [...c.blockOutChannels].reverse();
  const cond: Conditioning = { zq, zqChannels: c.latentChannels, factor: 1 };

  const d = w.sub('decoder');
  let x = d.conv2d(w.conv2d(zq, 'post_quant_conv', c.latentChannels, c.latentChannels, 1), 'conv_in', c.latentChannels, reversed[0], 3);
  x = decoderMidBlock(g, d.sub('mid_block'), x, reversed[0], cond, c);
  for (const [i, type] of c.upBlockTypes.entries()) {
    const block = {
      in: reversed[Math.max(i - 1, 0)],
      out: reversed[i],
      attention: type === 'AttnUpDecoderBlock2D',
      upsample: i < reversed.length - 1,
    };
    // Every up block but the last doubles the size, so block i runs at 2^i times the latent size.
    x = upDecoderBlock(g, d.sub(`up_blocks.${i}`), x, { ...cond, factor: 2 ** i }, block, c);
  }
  const bottom = c.blockOutChannels[0];
  x = g.silu(spatialNorm(g, d.sub('conv_norm_out'), x, { ...cond, factor: 2 ** (c.upBlockTypes.length - 1) }, bottom));
  g.output(d.conv2d(x, 'conv_out', bottom, c.outChannels, 3), 'sample');
  return g;
}

/** The SpatialNorm conditioning: the decoder's input latents after (optional) quantization, before post_quant_conv. */
interface Conditioning {
  readonly zq: Value;
  readonly zqChannels: number;
  /** The feature maps at this point are `factor` times the latents' height and width. */
  readonly factor: number;
}

/** UNetMidBlock2D, spatial-norm form: cond resnet, [attention], cond resnet. */
function decoderMidBlock(g: Graph, w: Weights, x: Value, channels: number, cond: Conditioning, c: VQModelConfig): Value {
  x = condResnetBlock(g, w.sub('resnets.0'), x, cond, channels, channels);
  if (c.midBlockAddAttention) x = decoderAttention(g, w.sub('attentions.0'), x, cond, channels);
  return condResnetBlock(g, w.sub('resnets.1'), x, cond, channels, channels);
}

/** UpDecoderBlock2D / AttnUpDecoderBlock2D: layers_per_block + 1 resnets (each followed by attention in the Attn form), then an upsample. */
function upDecoderBlock(g: Graph, w: Weights, x: Value, cond: Conditioning, b: BlockShape & { upsample: boolean }, c: VQModelConfig): Value {
  for (let j = 0; j <= c.layersPerBlock; j++) {
    x = condResnetBlock(g, w.sub(`resnets.${j}`), x, cond, j === 0 ? b.in : b.out, b.out);
    if (b.attention) x = decoderAttention(g, w.sub(`attentions.${j}`), x, cond, b.out);
  }
  if (!b.upsample) return x;
  // Upsample2D: nearest x2, then a 3x3 conv.
  const conv = w.sub('upsamplers.0.conv');
  return upsampleNearest2xConv3x3(g, x, conv.at('weight', [b.out, b.out, 3, 3]), conv.at('bias', [b.out]));
}

/** ResnetBlockCondNorm2D (time_embedding_norm "spatial"): ResnetBlock2D with both GroupNorms made SpatialNorms. */
function condResnetBlock(g: Graph, w: Weights, x: Value, cond: Conditioning, inChannels: number, outChannels: number): Value {
  let h = w.conv2d(g.silu(spatialNorm(g, w.sub('norm1'), x, cond, inChannels)), 'conv1', inChannels, outChannels, 3);
  h = w.conv2d(g.silu(spatialNorm(g, w.sub('norm2'), h, cond, outChannels)), 'conv2', outChannels, outChannels, 3);
  const skip = inChannels === outChannels ? x : w.conv2d(x, 'conv_shortcut', inChannels, outChannels, 1);
  return g.add(skip, h);
}

/** Decoder Attention: SpatialNorm, single-head self-attention, residual onto the un-normalised input. */
function decoderAttention(g: Graph, w: Weights, x: Value, cond: Conditioning, channels: number): Value {
  const normed = spatialNorm(g, w.sub('spatial_norm'), x, cond, channels);
  return g.add(x, spatialSelfAttention(g, w, normed, channels));
}

/**
 * SpatialNorm(f, zq) = GroupNorm_32(f) * conv_y(zq') + conv_b(zq'), zq' = zq resized (nearest) to f's size.
 *
 * Two rewrites keep full-resolution work to the normalisation itself, with the same values:
 * - the 1x1 convs act per pixel, so they run on zq at latent size; the nearest upsampling (an integer
 *   factor s here) repeats columns explicitly ([B, C, h, w*s], small), and rows through the broadcast of
 *   [B, C, h, 1, W] against f seen as [B, C, h, s, W], whose long contiguous rows broadcast fast;
 * - the GroupNorm's affine folds into the convs' tiny weights (once, at load):
 *   (n*gamma + beta) * (Wy zq + by) + (Wb zq + bb) = n * ((gamma Wy) zq + gamma by) + ((beta Wy + Wb) zq + beta by + bb).
 */
function spatialNorm(g: Graph, w: Weights, f: Value, cond: Conditioning, channels: number): Value {
  const zc = cond.zqChannels;
  const gamma = w.at('norm_layer.weight', [channels]);
  const beta = w.at('norm_layer.bias', [channels]);
  const wy = w.at('conv_y.weight', [channels, zc, 1, 1]);
  const by = w.at('conv_y.bias', [channels]);
  const perOutput = (v: Value) => g.reshape(v, [channels, 1, 1, 1]);
  const scale = g.conv2d(cond.zq, g.mul(wy, perOutput(gamma)), g.mul(by, gamma));
  const shiftWeight = g.add(g.mul(wy, perOutput(beta)), w.at('conv_b.weight', [channels, zc, 1, 1]));
  const shift = g.conv2d(cond.zq, shiftWeight, g.add(g.mul(by, beta), w.at('conv_b.bias', [channels])));
  const normed = g.groupNorm(f, SPATIAL_NORM_GROUPS, EPS);
  if (cond.factor === 1) return g.add(g.mul(normed, scale), shift);
  const s = cond.factor;
  const spread = (v: Value) => g.unsqueeze(g.upsampleNearest(v, 1, s), [3]);
  const blocks = g.concat([g.shape(scale, 0, 3), g.ints([s, -1])], 0);
  const y = g.add(g.mul(g.reshapeTo(normed, blocks), spread(scale)), spread(shift));
  return g.reshapeTo(y, g.shape(f));
}

// ---------------------------------------------------------------- shared pieces

/**
 * The MoVQ Attention core on a feature map [B, C, H, W]: H*W tokens of C channels, one head of dim C (scale
 * 1/sqrt(C)), to_out.0, back to [B, C, H, W]. The residual is the caller's (it differs in what was normalised).
 */
function spatialSelfAttention(g: Graph, w: Weights, x: Value, channels: number): Value {
  const tokens = g.transpose(g.reshape(x, [0, channels, -1]), [0, 2, 1]);
  const q = w.linear(tokens, attentionWeight(w, 'to_q'), channels, channels);
  const k = w.linear(tokens, attentionWeight(w, 'to_k'), channels, channels);
  const v = w.linear(tokens, attentionWeight(w, 'to_v'), channels, channels);
  const attended = g.attention(q, k, v, 1, channels);
  const out = w.linear(attended, attentionWeight(w, 'to_out.0'), channels, channels);
  return g.reshapeTo(g.transpose(out, [0, 2, 1]), g.shape(x));
}

/** Checkpoints saved before diffusers' attention refactor name these query/key/value/proj_attn; diffusers renames them on load. */
const LEGACY_ATTENTION_NAMES: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };

function attentionWeight(w: Weights, name: string): string {
  const legacy = LEGACY_ATTENTION_NAMES[name];
  return !w.has(`${name}.weight`) && w.has(`${legacy}.weight`) ? legacy : name;
}

/**
 * VectorQuantizer (legacy form, as VQModel builds it): each latent vector becomes its nearest codebook row
 * (Euclidean; first index on ties), written as z + (e - z) like the straight-through expression.
 */
function vectorQuantize(g: Graph, w: Weights, z: Value, c: VQModelConfig): Value {
  const dim = c.latentChannels;
  const codebook = w.at('embedding.weight', [c.numVqEmbeddings, dim]);
  const pixels = g.transpose(z, [0, 2, 3, 1]);
  const flat = g.reshape(pixels, [-1, dim]);
  // |z - e|^2 = |z|^2 + |e|^2 - 2 z.e; |z|^2 is the same for every code of a pixel, so the argmin needs only the rest.
  const codeNorms = g.op('ReduceSumSquare', [codebook], { axes: [1], keepdims: 0 });
  const distances = g.op('Gemm', [flat, codebook, codeNorms], { transB: 1, alpha: { float: -2 } });
  const nearest = g.gather(codebook, g.op('ArgMin', [distances], { axis: 1, keepdims: 0 }));
  const quantized = g.add(flat, g.sub(nearest, flat));
  return g.transpose(g.reshapeTo(quantized, g.shape(pixels)), [0, 3, 1, 2]);
}
