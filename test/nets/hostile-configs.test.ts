import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, WeightsError } from '../../src/errors.js';
import { loadNetwork, NETWORK_BUILDERS, type NetworkKind } from '../../src/nets/index.js';
import { timestepFrequencies } from '../../src/nets/timesteps.js';
import { loadCheckpoint, readComponentConfig } from '../../src/weights/diffusers.js';
import { modelsDir } from '../helpers/fixtures.js';

// Every size a network's tables are built from is either bounded by ConfigFields or checked against a weight's
// shape before the table exists: a hostile config.json fails in milliseconds, naming the field or the tensor.

const COMPONENTS = {
  unet: join(modelsDir, 'kandinsky-2-2-decoder', 'unet'),
  movq: join(modelsDir, 'kandinsky-2-2-decoder', 'movq'),
  prior: join(modelsDir, 'kandinsky-2-2-prior', 'prior'),
  text_encoder: join(modelsDir, 'kandinsky-2-2-prior', 'text_encoder'),
  image_encoder: join(modelsDir, 'kandinsky-2-2-prior', 'image_encoder'),
} as const;
type Component = keyof typeof COMPONENTS;

interface HostileCase {
  readonly title: string;
  readonly component: Component;
  readonly kind: NetworkKind;
  /** Keys merged into the component's config.json. */
  readonly edit: Record<string, unknown>;
  /** JSON text substitutions for what JSON.stringify cannot write (1e999 parses to Infinity). */
  readonly raw?: readonly [string, string];
  readonly error: typeof ConfigError | typeof WeightsError;
  readonly message: RegExp;
}

const million = <T>(value: T): T[] => new Array<T>(1_000_000).fill(value);

const CASES: readonly HostileCase[] = [
  // UNet2DConditionModel
  { title: 'a UNet whose block_out_channels[0] is 1e9', component: 'unet', kind: 'unet', edit: { block_out_channels: [1e9, 16, 16, 32] },
    error: ConfigError, message: /field "block_out_channels" is \[1000000000,16,16,32\], expected a list of 1 to 64 positive integers \(each at most 1048576\)/ },
  { title: 'a UNet whose first width (2^20, in bounds) disagrees with time_embedding.linear_1, before its frequency table',
    component: 'unet', kind: 'unet', edit: { block_out_channels: [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20], time_embedding_dim: 32 },
    error: WeightsError, message: /weight "time_embedding\.linear_1\.weight" has shape \[32, 8\], the config implies \[32, 1048576\]/ },
  { title: 'a UNet with layers_per_block 1e6', component: 'unet', kind: 'unet', edit: { layers_per_block: 1e6 },
    error: WeightsError, message: /weight "down_blocks\.0\.resnets\.1\.norm1\.weight" \[8\] is missing/ },
  { title: 'a UNet with norm_num_groups 1e9', component: 'unet', kind: 'unet', edit: { norm_num_groups: 1e9 },
    error: ConfigError, message: /field "norm_num_groups" is 1000000000, expected a positive integer \(at most 1048576\)/ },
  { title: 'a UNet whose norm_num_groups (2^20) does not divide its widths', component: 'unet', kind: 'unet', edit: { norm_num_groups: 2 ** 20 },
    error: ConfigError, message: /field "block_out_channels" \[0\] = 8 is not a multiple of "norm_num_groups" 1048576/ },
  { title: 'a UNet with attention_head_dim 0', component: 'unet', kind: 'unet', edit: { attention_head_dim: 0 },
    error: ConfigError, message: /field "attention_head_dim" is 0, expected a positive integer/ },
  { title: 'a UNet with attention_head_dim 1e9', component: 'unet', kind: 'unet', edit: { attention_head_dim: 1e9 },
    error: ConfigError, message: /field "attention_head_dim" is 1000000000/ },
  { title: 'a UNet with a list of 1e5 down block types', component: 'unet', kind: 'unet', edit: { down_block_types: new Array(100_000).fill('ResnetDownsampleBlock2D') },
    error: ConfigError, message: /field "down_block_types" is \["ResnetDownsampleBlock2D",.*,\.\.\.\] \(100000 entries\), expected a list of 4 block types/ },
  { title: 'a UNet config.json of 26 MB (1e6 block types)', component: 'unet', kind: 'unet', edit: { down_block_types: million('ResnetDownsampleBlock2D') },
    error: ConfigError, message: /config\.json.* is \d+ bytes, more than the 16777216 a config file can be/ },
  { title: 'a UNet with 1e6 block widths', component: 'unet', kind: 'unet', edit: { block_out_channels: million(32) },
    error: ConfigError, message: /field "block_out_channels" is \[32,32,32,32,32,32,32,32,\.\.\.\] \(1000000 entries\)/ },
  { title: 'a UNet whose block widths are text', component: 'unet', kind: 'unet', edit: { block_out_channels: '8,16,16,32' },
    error: ConfigError, message: /field "block_out_channels" is "8,16,16,32", expected a list/ },
  { title: 'a UNet with a fractional cross_attention_dim', component: 'unet', kind: 'unet', edit: { cross_attention_dim: 16.5 },
    error: ConfigError, message: /field "cross_attention_dim" is 16\.5, expected a positive integer/ },
  { title: 'a UNet whose norm_eps overflows to Infinity', component: 'unet', kind: 'unet', edit: { norm_eps: 12345 }, raw: ['12345', '1e999'],
    error: ConfigError, message: /field "norm_eps" is Infinity, expected a positive finite number/ },
  { title: 'a UNet whose freq_shift leaves no frequency divisor', component: 'unet', kind: 'unet', edit: { freq_shift: 4 },
    error: ConfigError, message: /field "freq_shift" is 4, expected less than 4 \(half of "block_out_channels" \[0\]\)/ },
  { title: 'a UNet whose freq_shift is beyond exact integers', component: 'unet', kind: 'unet', edit: { freq_shift: 1e300 },
    error: ConfigError, message: /field "freq_shift" is 1e\+300, expected an integer/ },

  // PriorTransformer
  { title: 'a prior whose heads x head_dim is 2e9', component: 'prior', kind: 'prior_transformer', edit: { num_attention_heads: 40_000, attention_head_dim: 50_000 },
    error: ConfigError, message: /"num_attention_heads" 40000 x "attention_head_dim" 50000 = 2000000000, expected at most 1048576/ },
  { title: 'a prior whose inner width (2^20, in bounds) disagrees with time_embedding.linear_1, before its frequency table',
    component: 'prior', kind: 'prior_transformer', edit: { num_attention_heads: 1024, attention_head_dim: 1024, time_embed_dim: 64 },
    error: WeightsError, message: /weight "time_embedding\.linear_1\.weight" has shape \[64, 64\], the config implies \[64, 1048576\]/ },
  { title: 'a prior with attention_head_dim 0', component: 'prior', kind: 'prior_transformer', edit: { attention_head_dim: 0 },
    error: ConfigError, message: /field "attention_head_dim" is 0/ },
  { title: 'a prior with attention_head_dim 1e9', component: 'prior', kind: 'prior_transformer', edit: { attention_head_dim: 1e9 },
    error: ConfigError, message: /field "attention_head_dim" is 1000000000/ },
  { title: 'a prior with 30000 text tokens', component: 'prior', kind: 'prior_transformer', edit: { num_embeddings: 30_000 },
    error: ConfigError, message: /field "num_embeddings" is 30000, expected a positive integer \(at most 2048\)/ },
  { title: 'a prior whose 2000 text tokens disagree with positional_embedding, before its causal mask',
    component: 'prior', kind: 'prior_transformer', edit: { num_embeddings: 2000 },
    error: WeightsError, message: /weight "positional_embedding" has shape \[1, 81, 64\], the config implies \[1, 2004, 64\]/ },
  { title: 'a prior with 1e6 layers', component: 'prior', kind: 'prior_transformer', edit: { num_layers: 1e6 },
    error: WeightsError, message: /weight "transformer_blocks\.2\.norm1\.weight" \[64\] is missing/ },

  // CLIPTextModelWithProjection
  { title: 'a text encoder with max_position_embeddings 30000', component: 'text_encoder', kind: 'clip_text', edit: { max_position_embeddings: 30_000 },
    error: ConfigError, message: /field "max_position_embeddings" is 30000, expected a positive integer \(at most 2048\)/ },
  { title: 'a text encoder whose 2000 positions disagree with position_embedding, before its causal mask',
    component: 'text_encoder', kind: 'clip_text_masked', edit: { max_position_embeddings: 2000 },
    error: WeightsError, message: /weight "text_model\.embeddings\.position_embedding\.weight" has shape \[77, 32\], the config implies \[2000, 32\]/ },
  { title: 'a text encoder with 1e9 hidden layers', component: 'text_encoder', kind: 'clip_text', edit: { num_hidden_layers: 1e9 },
    error: ConfigError, message: /field "num_hidden_layers" is 1000000000/ },
  { title: 'a text encoder with 1e6 hidden layers', component: 'text_encoder', kind: 'clip_text', edit: { num_hidden_layers: 1e6 },
    error: WeightsError, message: /weight "text_model\.encoder\.layers\.2\.layer_norm1\.weight" \[32\] is missing/ },
  { title: 'a text encoder whose vocabulary size is negative', component: 'text_encoder', kind: 'clip_text', edit: { vocab_size: -49408 },
    error: ConfigError, message: /field "vocab_size" is -49408/ },

  // CLIPVisionModelWithProjection
  { title: 'a vision tower with image_size 1e9', component: 'image_encoder', kind: 'clip_vision', edit: { image_size: 1e9 },
    error: ConfigError, message: /field "image_size" is 1000000000/ },
  { title: 'a vision tower with 1e6 hidden layers', component: 'image_encoder', kind: 'clip_vision', edit: { num_hidden_layers: 1e6 },
    error: WeightsError, message: /weight "vision_model\.encoder\.layers\.2\.layer_norm1\.weight" \[48\] is missing/ },
  { title: 'a vision tower with patch_size true', component: 'image_encoder', kind: 'clip_vision', edit: { patch_size: true },
    error: ConfigError, message: /field "patch_size" is true/ },

  // VQModel (MoVQ)
  { title: 'a MoVQ whose block_out_channels[0] is 1e9', component: 'movq', kind: 'movq_decoder', edit: { block_out_channels: [1e9, 32, 32, 64] },
    error: ConfigError, message: /field "block_out_channels" is \[1000000000,32,32,64\]/ },
  { title: 'a MoVQ with layers_per_block 1e6', component: 'movq', kind: 'movq_encoder', edit: { layers_per_block: 1e6 },
    error: WeightsError, message: /weight "encoder\.down_blocks\.0\.resnets\.1\.norm1\.weight" \[32\] is missing/ },
  { title: 'a MoVQ with norm_num_groups 1e9', component: 'movq', kind: 'movq_decoder', edit: { norm_num_groups: 1e9 },
    error: ConfigError, message: /field "norm_num_groups" is 1000000000/ },
  { title: 'a MoVQ with a list of 1e5 up block types', component: 'movq', kind: 'movq_decoder', edit: { up_block_types: new Array(100_000).fill('UpDecoderBlock2D') },
    error: ConfigError, message: /field "up_block_types" is .*\(100000 entries\), expected a list of 4 block types/ },
];

/** A refusal must come at once: building any table from these sizes would take seconds to minutes. */
const FAST_MS = 1000;

describe('hostile network configs', () => {
  let root: string;
  const copies = new Map<Component, string>();
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kandinsky-hostile-config-'));
    for (const [name, dir] of Object.entries(COMPONENTS)) {
      const copy = join(root, name);
      cpSync(dir, copy, { recursive: true });
      copies.set(name as Component, copy);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const c of CASES) {
    it(`refuses ${c.title} within ${FAST_MS} ms, naming the ${c.error === ConfigError ? 'field' : 'tensor'}`, async () => {
      const dir = copies.get(c.component)!;
      let text = JSON.stringify({ ...readComponentConfig(COMPONENTS[c.component]), ...c.edit });
      if (c.raw) text = text.replace(c.raw[0], c.raw[1]);
      writeFileSync(join(dir, 'config.json'), text);
      const start = performance.now();
      await assert.rejects(loadNetwork(c.kind, dir, { cacheDir: null }), (err: unknown) => {
        assert.ok(err instanceof c.error, `expected a ${c.error.name}, got ${String(err)}`);
        assert.match(err.message, c.message);
        assert.ok(err.message.length < 1000, `a message of ${err.message.length} characters`);
        return true;
      });
      const elapsed = performance.now() - start;
      assert.ok(elapsed < FAST_MS, `refused after ${elapsed.toFixed(0)} ms`);
    });
  }
});

/** The fastest of a few runs, in ms: a lower bound that a busy machine disturbs less than a single run. */
function fastest(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

describe('the order of checks in a graph build', () => {
  // The largest width ConfigFields lets through: its frequency table (2^19 float32 expf) takes tens of ms.
  const width = 2 ** 20;
  const tableMs = fastest(() => timestepFrequencies(width / 2, 0));
  const widened: [string, Component, NetworkKind, Record<string, unknown>][] = [
    ['UNet', 'unet', 'unet', { block_out_channels: [width, width, width, width], time_embedding_dim: 32 }],
    ['prior', 'prior', 'prior_transformer', { num_attention_heads: 1024, attention_head_dim: 1024, time_embed_dim: 64 }],
  ];
  for (const [name, component, kind, edit] of widened) {
    it(`checks the ${name}'s time_embedding.linear_1 against the width before building the frequency table from it`, () => {
      const dir = COMPONENTS[component];
      const json = { ...readComponentConfig(dir), ...edit };
      const checkpoint = loadCheckpoint(dir);
      const refusalMs = fastest(() => assert.throws(() => NETWORK_BUILDERS[kind](json, join(dir, 'config.json'), checkpoint), WeightsError));
      assert.ok(refusalMs < tableMs / 4, `refused after ${refusalMs.toFixed(1)} ms; the table alone takes ${tableMs.toFixed(1)} ms`);
    });
  }
});

