import { ConfigFields } from '../config/index.js';

// The config.json of a diffusers UNet2DConditionModel, narrowed to what Kandinsky 2.2's decoders use
// (architecture doc 1.3-1.5). Absent keys take diffusers' defaults (UNet2DConditionModel.__init__);
// anything that would change the network into one we do not build is refused, naming the field.

const DOWN_BLOCK_TYPES = ['ResnetDownsampleBlock2D', 'SimpleCrossAttnDownBlock2D'] as const;
const UP_BLOCK_TYPES = ['ResnetUpsampleBlock2D', 'SimpleCrossAttnUpBlock2D'] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];
/** Channels the hint stack adds in front of conv_in (`ImageHintTimeEmbedding`). */
export const HINT_CHANNELS = 4;

/** Per-block values are expanded to one entry per block, as diffusers does. */
export interface UNet2DConditionModelConfig {
  /** conv_in's input channels; for `image_hint` the latent channels plus the 4 hint channels. */
  readonly inChannels: number;
  readonly outChannels: number;
  readonly blockOutChannels: readonly number[];
  readonly layersPerBlock: readonly number[];
  readonly downBlockTypes: readonly DownBlockType[];
  readonly upBlockTypes: readonly UpBlockType[];
  /** Channels per head (diffusers' historical name): heads = channels / attentionHeadDim. */
  readonly attentionHeadDim: readonly number[];
  readonly crossAttentionDim: number;
  /** Width of the CLIP image embedding fed as `image_embeds`. */
  readonly encoderHidDim: number;
  readonly additionEmbedType: 'image' | 'image_hint';
  readonly normNumGroups: number;
  readonly normEps: number;
  readonly flipSinToCos: boolean;
  readonly freqShift: number;
  /** `time_embedding_dim`, or 4 x blockOutChannels[0] when null. */
  readonly timeEmbedDim: number;
  readonly convInKernel: number;
  readonly convOutKernel: number;
}

export function parseUNet2DConditionModelConfig(json: Record<string, unknown>, source: string): UNet2DConditionModelConfig {
  const f = new ConfigFields(json, source);
  // Options whose other values build a different network (other embeddings, activations, block wiring).
  f.oneOf('act_fn', ['silu'], 'silu');
  f.oneOf('resnet_time_scale_shift', ['scale_shift'], 'default');
  f.oneOf('encoder_hid_dim_type', ['image_proj'], null);
  f.oneOf('mid_block_type', ['UNetMidBlock2DSimpleCrossAttn'], 'UNetMidBlock2DCrossAttn');
  f.oneOf('time_embedding_type', ['positional'], 'positional');
  f.oneOf('attention_type', ['default'], 'default');
  for (const key of ['class_embed_type', 'num_class_embeds', 'time_embedding_act_fn', 'timestep_post_act', 'time_cond_proj_dim', 'cross_attention_norm', 'num_attention_heads']) {
    f.oneOf(key, [null], null);
  }
  for (const key of ['center_input_sample', 'class_embeddings_concat', 'resnet_skip_time_act', 'only_cross_attention', 'dual_cross_attention', 'mid_block_only_cross_attention']) {
    f.exactly(key, false, false);
  }
  f.exactly('resnet_out_scale_factor', 1, 1);
  f.exactly('mid_block_scale_factor', 1, 1);
  // Ignored: keys only other block or embedding types read (transformer_layers_per_block, use_linear_projection,
  // downsample_padding, addition_embed_type_num_heads, ...), sample_size, dropout (training only) and
  // upcast_attention (changes fp16 runs only).

  const blockOutChannels = f.ints('block_out_channels', [320, 640, 1280, 1280]);
  const n = blockOutChannels.length;
  const downBlockTypes = f.blockTypes('down_block_types', DOWN_BLOCK_TYPES, ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], n);
  const upBlockTypes = f.blockTypes('up_block_types', UP_BLOCK_TYPES, ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'], n);
  const normNumGroups = f.int('norm_num_groups', 32);
  blockOutChannels.forEach((ch, i) => {
    f.require(ch % normNumGroups === 0, `field "block_out_channels" [${i}] = ${ch} is not a multiple of "norm_num_groups" ${normNumGroups}`);
  });

  const attentionHeadDim = f.perBlock('attention_head_dim', 8, n);
  // Down block i and up block i both use entry i (diffusers does not reverse it), the mid block the last.
  const splitsIntoHeads = (channels: number, i: number, where: string) =>
    f.require(channels % attentionHeadDim[i] === 0, `field "attention_head_dim" [${i}] = ${attentionHeadDim[i]} does not divide the ${channels} channels of ${where}`);
  for (let i = 0; i < n; i++) {
    if (downBlockTypes[i] === 'SimpleCrossAttnDownBlock2D') splitsIntoHeads(blockOutChannels[i], i, `down block ${i}`);
    if (upBlockTypes[i] === 'SimpleCrossAttnUpBlock2D') splitsIntoHeads(blockOutChannels[n - 1 - i], i, `up block ${i}`);
  }
  splitsIntoHeads(blockOutChannels[n - 1], n - 1, 'the mid block');

  // diffusers' default (null: no added embedding) is not among the supported values, so the result is never null.
  const additionEmbedType = f.oneOf('addition_embed_type', ['image', 'image_hint', null], null) as 'image' | 'image_hint';
  const inChannels = f.int('in_channels', 4);
  f.require(
    additionEmbedType !== 'image_hint' || inChannels > HINT_CHANNELS,
    `field "in_channels" is ${inChannels}; with "addition_embed_type" "image_hint" it counts the ${HINT_CHANNELS} hint channels too, so it must exceed ${HINT_CHANNELS}`,
  );
  const freqShift = f.integer('freq_shift', 0);
  // get_timestep_embedding divides by half - freq_shift, half being half of the projection's width.
  const half = Math.floor(blockOutChannels[0] / 2);
  f.require(freqShift < half, `field "freq_shift" is ${freqShift}, expected less than ${half} (half of "block_out_channels" [0])`);
  const kernel = (key: string) => {
    const k = f.int(key, 3);
    f.require(k % 2 === 1, `field "${key}" is ${k}; only odd kernels keep the size`);
    return k;
  };

  return {
    inChannels,
    outChannels: f.int('out_channels', 4),
    blockOutChannels,
    layersPerBlock: f.perBlock('layers_per_block', 2, n),
    downBlockTypes,
    upBlockTypes,
    attentionHeadDim,
    crossAttentionDim: f.int('cross_attention_dim', 1280),
    encoderHidDim: f.int('encoder_hid_dim'),
    additionEmbedType,
    normNumGroups,
    normEps: f.positive('norm_eps', 1e-5),
    flipSinToCos: f.bool('flip_sin_to_cos', true),
    freqShift,
    timeEmbedDim: f.int('time_embedding_dim', 4 * blockOutChannels[0]),
    convInKernel: kernel('conv_in_kernel'),
    convOutKernel: kernel('conv_out_kernel'),
  };
}
