// `ai-forever/kandinsky-2.2` as Replicate hosts it (replicate-api.md §11, §17, §20): three versions, the
// newest with `output_format`, the two older ones without it (PNG).
import { buildCogSchema, type CogInput } from './cog-schema.js';
import { HEIGHT, HOSTED_PROMPT, NEGATIVE_PROMPT, NUM_INFERENCE_STEPS, NUM_INFERENCE_STEPS_PRIOR, NUM_OUTPUTS, OUTPUT_FORMAT, SEED, WIDTH } from './inputs.js';
import { decoderRequest, DECODER_REPO, PRIOR_REPO, type ModelDefinition, type VersionDefinition } from './model-definition.js';

const INPUTS: readonly CogInput[] = [HOSTED_PROMPT, NEGATIVE_PROMPT, WIDTH, HEIGHT, NUM_INFERENCE_STEPS, NUM_INFERENCE_STEPS_PRIOR, NUM_OUTPUTS, SEED, OUTPUT_FORMAT];
const PNG_ONLY_INPUTS = INPUTS.filter((i) => i.name !== 'output_format');

// Cog 0.8.6 is the boilerplate's source; any cog_version >= 0.3.9 keeps the Python client returning lists.
// The dates are placeholders that keep the versions in order (UNCONFIRMED, §20).
const hostedVersion = (id: string, createdAt: string, inputs: readonly CogInput[], fixedFormat?: 'png'): VersionDefinition => ({
  id,
  createdAt,
  cogVersion: '0.8.6',
  openapiSchema: buildCogSchema(inputs, 'list'),
  inputs,
  ...(fixedFormat ? { fixedFormat } : {}),
});

export const HOSTED_MODEL: ModelDefinition = {
  owner: 'ai-forever',
  name: 'kandinsky-2.2',
  description: 'multilingual text2image latent diffusion model',
  githubUrl: 'https://github.com/ai-forever/Kandinsky-2',
  repos: [PRIOR_REPO, DECODER_REPO],
  output: 'list',
  versions: [
    hostedVersion('ad9d7879fbffa2874e1d909d1d37d9bc682889cc65b31f7bb00d2362619f194a', '2024-01-01T00:00:00.000000Z', INPUTS),
    hostedVersion('ea1addaab376f4dc227f5368bbd8eff901820fd1cc14ed8cad63b29249e9d463', '2023-10-01T00:00:00.000000Z', PNG_ONLY_INPUTS, 'png'),
    hostedVersion('424befb1eae6af8363edb846ae98a11111a39740988baebd279d73fe3ecc92c2', '2023-08-01T00:00:00.000000Z', PNG_ONLY_INPUTS, 'png'),
  ],
  // KP's predict(): the prior twice (prompt; negative text + the suffix), then the decoder, guidance 4 both.
  request: (v, context) => ({ ...decoderRequest(v, context, DECODER_REPO, { guidanceScale: 4.0, priorGuidanceScale: 4.0 }), mode: 'text2img', flow: 'hosted' }),
};
