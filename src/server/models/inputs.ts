// The `Input(...)` declarations the models share: the hosted model's own (KP, replicate-api.md §17), which the
// kandinsky/* models reuse where they mean the same thing, and the ones only those models have.
import type { CogInput } from './cog-schema.js';

const SIZES = [384, 512, 576, 640, 704, 768, 960, 1024, 1152, 1280, 1536, 1792, 2048];

const size = (name: 'width' | 'height'): CogInput => ({
  name,
  type: 'integer',
  description: `${name === 'width' ? 'Width' : 'Height'} of output image. Lower the setting if hits memory limits.`,
  default: 512,
  choices: SIZES,
});

export const WIDTH = size('width');
export const HEIGHT = size('height');
export const NEGATIVE_PROMPT: CogInput = { name: 'negative_prompt', type: 'string', description: 'Specify things to not see in the output' };
export const NUM_INFERENCE_STEPS: CogInput = { name: 'num_inference_steps', type: 'integer', description: 'Number of denoising steps', default: 75, minimum: 1, maximum: 500 };
export const NUM_INFERENCE_STEPS_PRIOR: CogInput = {
  name: 'num_inference_steps_prior', type: 'integer', description: 'Number of denoising steps for priors', default: 25, minimum: 1, maximum: 500,
};
export const NUM_OUTPUTS: CogInput = { name: 'num_outputs', type: 'integer', description: 'Number of images to output.', default: 1, minimum: 1, maximum: 4 };
export const SEED: CogInput = { name: 'seed', type: 'integer', description: 'Random seed. Leave blank to randomize the seed' };
export const OUTPUT_FORMAT: CogInput = { name: 'output_format', type: 'string', description: 'Output image format', default: 'webp', choices: ['webp', 'jpeg', 'png'] };

/** The hosted model's prompt, with its default. */
export const HOSTED_PROMPT: CogInput = { name: 'prompt', type: 'string', description: 'Input prompt', default: 'A moss covered astronaut with a black background' };

// The kandinsky/* models' own.
export const PROMPT: CogInput = { name: 'prompt', type: 'string', description: 'Input prompt', required: true };
export const GUIDANCE_SCALE: CogInput = {
  name: 'guidance_scale', type: 'number', description: 'Scale for classifier-free guidance of the decoder', default: 4, minimum: 1, maximum: 20,
};
export const PRIOR_GUIDANCE_SCALE: CogInput = {
  name: 'prior_guidance_scale', type: 'number', description: 'Scale for classifier-free guidance of the prior', default: 4, minimum: 1, maximum: 20,
};
export const STRENGTH: CogInput = {
  name: 'strength', type: 'number', description: 'How far to move away from the input image: 0 keeps it, 1 ignores it', default: 0.3, minimum: 0, maximum: 1,
};
