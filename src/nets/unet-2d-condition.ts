import { Graph, type Value, Weights } from '../onnx/index.js';
import type { Checkpoint } from '../weights/index.js';
import { timeEmbedding } from './timesteps.js';
import { HINT_CHANNELS, type DownBlockType, type UNet2DConditionModelConfig, type UpBlockType } from './unet-2d-condition-config.js';
import { upsampleNearest2xConv3x3 } from './upsample-conv.js';

// diffusers UNet2DConditionModel in the forms Kandinsky 2.2 ships (decoder, decoder-inpaint, controlnet-depth):
// architecture doc 3.6; block and weight names as in diffusers' unet_2d_condition.py / unet_2d_blocks.py.

/** diffusers' `Attention` builds its GroupNorm with its own default eps, whatever `norm_eps` says. */
const ATTENTION_NORM_EPS = 1e-5;
/** `ImageProjection.num_image_text_embeds`: the image embedding becomes this many cross-attention tokens. */
const IMAGE_TOKENS = 32;
/** nn.LayerNorm's default, which ImageProjection and ImageTimeEmbedding keep. */
const LAYER_NORM_EPS = 1e-5;
/** `ImageHintTimeEmbedding.input_hint_block`: fixed widths, stride 2 where the hint is halved (8x in all). */
const HINT_BLOCK = [
  { out: 16, stride: 1 }, { out: 16, stride: 1 }, { out: 32, stride: 2 }, { out: 32, stride: 1 },
  { out: 96, stride: 2 }, { out: 96, stride: 1 }, { out: 256, stride: 2 }, { out: HINT_CHANNELS, stride: 1 },
] as const;

/** What every block needs besides its own weights. */
interface Context {
  readonly g: Graph;
  readonly c: UNet2DConditionModelConfig;
  /** SiLU(emb) [B, T]: every resnet's `time_emb_proj` reads it (ResnetBlock2D applies the SiLU itself). */
  readonly tembAct: Value;
  /** The image tokens [B, 32, cross_attention_dim] that stand in for `encoder_hidden_states`. */
  readonly tokens: Value;
}

type Resample = 'down' | 'up';

/**
 * The whole UNet as one graph (3.6.3).
 *
 * Inputs: `sample` float32 [B, C, h, w] (C = `in_channels`, or `in_channels - 4` latent channels for
 * `image_hint`), `timestep` int64 [B] (one per row), `image_embeds` float32 [B, encoder_hid_dim], and for
 * `image_hint` also `hint` float32 [B, 3, 8h, 8w]. Output: `out_sample` float32 [B, out_channels, h, w].
 * B, h and w are symbolic; h and w must be multiples of 2^(number of down blocks - 1).
 */
export function buildUNet2DConditionModel(c: UNet2DConditionModelConfig, checkpoint: Checkpoint): Graph {
  const g = new Graph('unet');
  const w = new Weights(g, checkpoint);
  const hinted = c.additionEmbedType === 'image_hint';
  const latentChannels = hinted ? c.inChannels - HINT_CHANNELS : c.inChannels;
  const sample = g.input('sample', 'float32', ['batch', latentChannels, 'height', 'width']);
  const timestep = g.input('timestep', 'int64', ['batch']);
  const imageEmbeds = g.input('image_embeds', 'float32', ['batch', c.encoderHidDim]);

  const base = c.blockOutChannels[0];
  let emb = timeEmbedding(g, w.sub('time_embedding'), timestep, {
    inChannels: base, timeEmbedDim: c.timeEmbedDim, act: 'silu', flipSinToCos: c.flipSinToCos, downscaleFreqShift: c.freqShift,
  });
  emb = g.add(emb, imageTimeEmbedding(w.sub('add_embedding'), imageEmbeds, c.encoderHidDim, c.timeEmbedDim));
  const tokens = imageProjection(g, w.sub('encoder_hid_proj'), imageEmbeds, c.encoderHidDim, c.crossAttentionDim);
  const ctx: Context = { g, c, tembAct: g.silu(emb), tokens };

  let x: Value = sample;
  if (hinted) {
    const scale = HINT_BLOCK.reduce((f, { stride }) => f * stride, 1);
    const hint = g.input('hint', 'float32', ['batch', 3, `${scale}*height`, `${scale}*width`]);
    x = g.concat([x, inputHintBlock(g, w.sub('add_embedding.input_hint_block'), hint)], 1);
  }
  x = w.conv2d(x, 'conv_in', c.inChannels, base, c.convInKernel);

  const skips: Value[] = [x];
  const n = c.blockOutChannels.length;
  for (let i = 0; i < n; i++) {
    const block: DownBlock = {
      inChannels: c.blockOutChannels[Math.max(i - 1, 0)],
      outChannels: c.blockOutChannels[i],
      layers: c.layersPerBlock[i],
      headDim: c.attentionHeadDim[i],
      addDownsample: i < n - 1,
    };
    x = DOWN_BLOCKS[c.downBlockTypes[i]](ctx, w.sub(`down_blocks.${i}`), x, block, skips);
  }

  x = unetMidBlock2DSimpleCrossAttn(ctx, w.sub('mid_block'), x, c.blockOutChannels[n - 1], c.attentionHeadDim[n - 1]);

  const reversed = [...c.blockOutChannels].reverse();
  const reversedLayers = [...c.layersPerBlock].reverse();
  for (let i = 0; i < n; i++) {
    const block: UpBlock = {
      prevOutputChannels: reversed[Math.max(i - 1, 0)],
      inChannels: reversed[Math.min(i + 1, n - 1)],
      outChannels: reversed[i],
      layers: reversedLayers[i] + 1,
      // Not reversed: diffusers hands up block i the i-th entry (equal for the usual single value).
      headDim: c.attentionHeadDim[i],
      addUpsample: i < n - 1,
    };
    x = UP_BLOCKS[c.upBlockTypes[i]](ctx, w.sub(`up_blocks.${i}`), x, block, skips);
  }

  x = g.silu(w.groupNorm(x, 'conv_norm_out', c.normNumGroups, base, c.normEps));
  x = w.conv2d(x, 'conv_out', base, c.outChannels, c.convOutKernel);
  g.output(x, 'out_sample', 'float32', ['batch', c.outChannels, 'height', 'width']);
  return g;
}

// ---- embeddings (3.6.1) ----

/** `ImageTimeEmbedding` (and the image half of `ImageHintTimeEmbedding`): LayerNorm(Linear(image_embeds)). */
function imageTimeEmbedding(w: Weights, imageEmbeds: Value, embedDim: number, timeEmbedDim: number): Value {
  return w.layerNorm(w.linear(imageEmbeds, 'image_proj', embedDim, timeEmbedDim), 'image_norm', timeEmbedDim, LAYER_NORM_EPS);
}

/** `ImageProjection`: the image embedding as 32 tokens (row-major split of one Linear), each LayerNormed. */
function imageProjection(g: Graph, w: Weights, imageEmbeds: Value, embedDim: number, crossDim: number): Value {
  const flat = w.linear(imageEmbeds, 'image_embeds', embedDim, IMAGE_TOKENS * crossDim);
  return w.layerNorm(g.reshape(flat, [0, IMAGE_TOKENS, crossDim]), 'norm', crossDim, LAYER_NORM_EPS);
}

/** `ImageHintTimeEmbedding.input_hint_block`: [B, 3, 8h, 8w] -> [B, 4, h, w], SiLU between the convs. */
function inputHintBlock(g: Graph, w: Weights, hint: Value): Value {
  let x = hint;
  let channels = 3;
  HINT_BLOCK.forEach(({ out, stride }, i) => {
    if (i > 0) x = g.silu(x);
    // Sequential indices count the SiLUs too: the convs are 0, 2, 4, ...
    x = w.conv2d(x, String(2 * i), channels, out, 3, { stride });
    channels = out;
  });
  return x;
}

// ---- building blocks (3.6.2) ----

/** `ResnetBlock2D` with time_embedding_norm "scale_shift"; `down`/`up` resample both branches after norm1. */
function resnetBlock2D(ctx: Context, w: Weights, x: Value, inChannels: number, outChannels: number, resample?: Resample): Value {
  const { g, c } = ctx;
  let h = g.silu(w.groupNorm(x, 'norm1', c.normNumGroups, inChannels, c.normEps));
  if (resample === 'down') {
    x = g.avgPool2x(x);
    h = w.conv2d(g.avgPool2x(h), 'conv1', inChannels, outChannels, 3);
  } else if (resample === 'up') {
    x = g.upsampleNearest(x, 2, 2);
    h = upsampleNearest2xConv3x3(g, h, w.at('conv1.weight', [outChannels, inChannels, 3, 3]), w.at('conv1.bias', [outChannels]));
  } else {
    h = w.conv2d(h, 'conv1', inChannels, outChannels, 3);
  }
  const temb = g.unsqueeze(w.linear(ctx.tembAct, 'time_emb_proj', c.timeEmbedDim, 2 * outChannels), [2, 3]);
  const [scale, shift] = g.chunk(temb, 2, 1);
  h = w.groupNorm(h, 'norm2', c.normNumGroups, outChannels, c.normEps);
  h = g.add(g.mul(h, g.add(scale, g.scalar(1))), shift);
  h = w.conv2d(g.silu(h), 'conv2', outChannels, outChannels, 3);
  const shortcut = inChannels === outChannels ? x : w.conv2d(x, 'conv_shortcut', inChannels, outChannels, 1);
  return g.add(shortcut, h);
}

/**
 * `Attention` with `AttnAddedKVProcessor`: GroupNorm on the feature map only, queries from it, keys and
 * values `[add_k_proj(tokens) ; to_k(x)]` (image tokens first), one softmax over both, then the residual.
 */
function attnAddedKV(ctx: Context, w: Weights, x: Value, channels: number, headDim: number): Value {
  const { g, c } = ctx;
  const normed = w.groupNorm(x, 'group_norm', c.normNumGroups, channels, ATTENTION_NORM_EPS);
  const hidden = g.transpose(g.reshape(normed, [0, channels, -1]), [0, 2, 1]);
  const q = w.linear(hidden, 'to_q', channels, channels);
  const kv = (added: string, own: string) =>
    g.concat([w.linear(ctx.tokens, added, c.crossAttentionDim, channels), w.linear(hidden, own, channels, channels)], 1);
  const attended = g.attention(q, kv('add_k_proj', 'to_k'), kv('add_v_proj', 'to_v'), channels / headDim, headDim);
  const out = w.linear(attended, 'to_out.0', channels, channels);
  return g.add(g.reshapeTo(g.transpose(out, [0, 2, 1]), g.shape(x)), x);
}

interface DownBlock {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly layers: number;
  readonly headDim: number;
  readonly addDownsample: boolean;
}

type DownBlockFn = (ctx: Context, w: Weights, x: Value, b: DownBlock, skips: Value[]) => Value;

/** `ResnetDownsampleBlock2D`: resnets, then a resnet that halves the size; every output is a skip. */
function resnetDownsampleBlock2D(ctx: Context, w: Weights, x: Value, b: DownBlock, skips: Value[]): Value {
  for (let i = 0; i < b.layers; i++) {
    x = resnetBlock2D(ctx, w.sub(`resnets.${i}`), x, i === 0 ? b.inChannels : b.outChannels, b.outChannels);
    skips.push(x);
  }
  return downsampler(ctx, w, x, b, skips);
}

/** `SimpleCrossAttnDownBlock2D`: as ResnetDownsampleBlock2D with an added-KV attention after each resnet. */
function simpleCrossAttnDownBlock2D(ctx: Context, w: Weights, x: Value, b: DownBlock, skips: Value[]): Value {
  for (let i = 0; i < b.layers; i++) {
    x = resnetBlock2D(ctx, w.sub(`resnets.${i}`), x, i === 0 ? b.inChannels : b.outChannels, b.outChannels);
    x = attnAddedKV(ctx, w.sub(`attentions.${i}`), x, b.outChannels, b.headDim);
    skips.push(x);
  }
  return downsampler(ctx, w, x, b, skips);
}

function downsampler(ctx: Context, w: Weights, x: Value, b: DownBlock, skips: Value[]): Value {
  if (!b.addDownsample) return x;
  const y = resnetBlock2D(ctx, w.sub('downsamplers.0'), x, b.outChannels, b.outChannels, 'down');
  skips.push(y);
  return y;
}

/** `UNetMidBlock2DSimpleCrossAttn` with its one attention layer: resnet, attention, resnet. */
function unetMidBlock2DSimpleCrossAttn(ctx: Context, w: Weights, x: Value, channels: number, headDim: number): Value {
  x = resnetBlock2D(ctx, w.sub('resnets.0'), x, channels, channels);
  x = attnAddedKV(ctx, w.sub('attentions.0'), x, channels, headDim);
  return resnetBlock2D(ctx, w.sub('resnets.1'), x, channels, channels);
}

interface UpBlock {
  readonly prevOutputChannels: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly layers: number;
  readonly headDim: number;
  readonly addUpsample: boolean;
}

type UpBlockFn = (ctx: Context, w: Weights, x: Value, b: UpBlock, skips: Value[]) => Value;

/** Resnet `i` of an up block takes the running features concatenated with the latest skip. */
function upResnet(ctx: Context, w: Weights, x: Value, b: UpBlock, i: number, skips: Value[]): Value {
  const skip = skips.pop()!;
  const running = i === 0 ? b.prevOutputChannels : b.outChannels;
  const skipChannels = i === b.layers - 1 ? b.inChannels : b.outChannels;
  return resnetBlock2D(ctx, w.sub(`resnets.${i}`), ctx.g.concat([x, skip], 1), running + skipChannels, b.outChannels);
}

/** `ResnetUpsampleBlock2D`: resnets over the skips, then a resnet that doubles the size. */
function resnetUpsampleBlock2D(ctx: Context, w: Weights, x: Value, b: UpBlock, skips: Value[]): Value {
  for (let i = 0; i < b.layers; i++) x = upResnet(ctx, w, x, b, i, skips);
  return upsampler(ctx, w, x, b);
}

/** `SimpleCrossAttnUpBlock2D`: as ResnetUpsampleBlock2D with an added-KV attention after each resnet. */
function simpleCrossAttnUpBlock2D(ctx: Context, w: Weights, x: Value, b: UpBlock, skips: Value[]): Value {
  for (let i = 0; i < b.layers; i++) {
    x = upResnet(ctx, w, x, b, i, skips);
    x = attnAddedKV(ctx, w.sub(`attentions.${i}`), x, b.outChannels, b.headDim);
  }
  return upsampler(ctx, w, x, b);
}

function upsampler(ctx: Context, w: Weights, x: Value, b: UpBlock): Value {
  return b.addUpsample ? resnetBlock2D(ctx, w.sub('upsamplers.0'), x, b.outChannels, b.outChannels, 'up') : x;
}

const DOWN_BLOCKS: Record<DownBlockType, DownBlockFn> = {
  ResnetDownsampleBlock2D: resnetDownsampleBlock2D,
  SimpleCrossAttnDownBlock2D: simpleCrossAttnDownBlock2D,
};

const UP_BLOCKS: Record<UpBlockType, UpBlockFn> = {
  ResnetUpsampleBlock2D: resnetUpsampleBlock2D,
  SimpleCrossAttnUpBlock2D: simpleCrossAttnUpBlock2D,
};
