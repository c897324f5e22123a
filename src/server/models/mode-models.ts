// One model per other mode under the owner `kandinsky`, each with a single version whose id is derived from
// its schema (a changed schema is a new version). They follow diffusers' pipelines (no hosted negative suffix).
import { hintFromImage } from '../../pipelines/index.js';
import type { InvalidField } from '../types.js';
import { buildCogSchema, schemaVersionId, type CogInput, type CogOutput } from './cog-schema.js';
import {
  GUIDANCE_SCALE, HEIGHT, NEGATIVE_PROMPT, NUM_INFERENCE_STEPS, NUM_INFERENCE_STEPS_PRIOR, NUM_OUTPUTS, OUTPUT_FORMAT, PRIOR_GUIDANCE_SCALE, PROMPT,
  SEED, STRENGTH, WIDTH,
} from './inputs.js';
import {
  CONTROLNET_DEPTH_REPO, decoderRequest, DECODER_REPO, DEPTH_REPO, INPAINT_DECODER_REPO, PRIOR_REPO, type InputValues, type ModelDefinition,
} from './model-definition.js';

const CREATED_AT = '2025-01-01T00:00:00.000000Z';

/** What every decoder mode reads the same way; the mode adds its images. */
const DECODER_SETTINGS: readonly CogInput[] = [
  WIDTH, HEIGHT, NUM_INFERENCE_STEPS, NUM_INFERENCE_STEPS_PRIOR, NUM_OUTPUTS, GUIDANCE_SCALE, PRIOR_GUIDANCE_SCALE, SEED, OUTPUT_FORMAT,
];

const image = (name: string, description: string, required = true): CogInput => ({ name, type: 'path', description, ...(required ? { required } : {}) });

function model(
  name: string,
  description: string,
  decoderRepo: string | undefined,
  output: CogOutput,
  inputs: readonly CogInput[],
  request: ModelDefinition['request'],
  check?: ModelDefinition['check'],
  optionalRepos?: readonly string[],
): ModelDefinition {
  const openapiSchema = buildCogSchema(inputs, output);
  return {
    owner: 'kandinsky',
    name,
    description,
    githubUrl: null,
    repos: decoderRepo ? [PRIOR_REPO, decoderRepo] : [PRIOR_REPO],
    output,
    versions: [{ id: schemaVersionId(openapiSchema), createdAt: CREATED_AT, cogVersion: '0.8.6', openapiSchema, inputs }],
    request,
    ...(check ? { check } : {}),
    ...(optionalRepos ? { optionalRepos } : {}),
  };
}


/**
 * Image-to-image denoises only the last int(steps x strength) steps (diffusers' get_timesteps): refused here
 * when that is none, rather than failing the run.
 */
function strengthLeavesSteps(v: InputValues): InvalidField[] {
  const steps = v.number('num_inference_steps');
  const strength = v.number('strength');
  if (Math.trunc(steps * strength) > 0) return [];
  return [{
    type: 'number_gte',
    field: 'input.strength',
    description: `Must be greater than or equal to ${1 / steps} (with num_inference_steps ${steps}, strength ${strength} leaves no denoising step)`,
  }];
}

const IMG2IMG = model(
  'kandinsky-2.2-img2img',
  'Kandinsky 2.2 image-to-image: redraws an image after a prompt',
  DECODER_REPO,
  'list',
  [PROMPT, image('image', 'Starting image'), STRENGTH, NEGATIVE_PROMPT, ...DECODER_SETTINGS],
  (v, c) => ({ ...decoderRequest(v, c, DECODER_REPO), mode: 'img2img', image: v.image('image'), strength: v.number('strength') }),
  strengthLeavesSteps,
);

const INPAINT = model(
  'kandinsky-2.2-inpaint',
  'Kandinsky 2.2 inpainting: repaints the masked part of an image after a prompt',
  INPAINT_DECODER_REPO,
  'list',
  [PROMPT, image('image', 'Image to repaint'), image('mask', 'Mask of the same size: white = repaint, black = keep'), NEGATIVE_PROMPT, ...DECODER_SETTINGS],
  (v, c) => ({ ...decoderRequest(v, c, INPAINT_DECODER_REPO), mode: 'inpaint', image: v.image('image'), mask: v.image('mask') }),
);

// Cog cannot express a list of {text | image, weight} objects; three parallel lists can: the entries are
// the texts in order, then the images in order, and `weights` has one weight per entry (equal when absent).
const FUSE = model(
  'kandinsky-2.2-fuse',
  'Kandinsky 2.2 fuse: one image from a weighted mix of texts and images',
  DECODER_REPO,
  'list',
  [
    { name: 'texts', type: 'string', list: true, description: 'Texts to mix (entries first in the order of weights)' },
    { name: 'images', type: 'path', list: true, description: 'Images to mix (entries after the texts in the order of weights)' },
    { name: 'weights', type: 'number', list: true, description: 'One weight per text, then per image; equal weights when left blank' },
    NEGATIVE_PROMPT,
    ...DECODER_SETTINGS,
  ],
  (v, c) => {
    const texts = v.list<string>('texts');
    const images = v.list<string>('images').map((_, i) => v.image(`images.${i}`)!);
    const entries = texts.length + images.length;
    const weights = v.list<number>('weights').length > 0 ? v.list<number>('weights') : Array<number>(entries).fill(1 / entries);
    return {
      ...decoderRequest(v, c, DECODER_REPO),
      mode: 'fuse',
      mix: [...texts.map((text, i) => ({ text, weight: weights[i] })), ...images.map((img, i) => ({ image: img, weight: weights[texts.length + i] }))],
    };
  },
  (v) => {
    const entries = v.list('texts').length + v.list('images').length;
    const weights = v.list('weights').length;
    if (entries === 0) return [{ type: 'array_min_items', field: 'input.texts', description: 'Array must have at least 1 items' }];
    if (weights === 0 || weights === entries) return [];
    return [weights < entries
      ? { type: 'array_min_items', field: 'input.weights', description: `Array must have at least ${entries} items` }
      : { type: 'array_max_items', field: 'input.weights', description: `Array must have at most ${entries} items` }];
  },
);

const CONTROLNET_DEPTH = model(
  'kandinsky-2.2-controlnet-depth',
  'Kandinsky 2.2 ControlNet-depth: an image after a prompt that follows a depth map, given or estimated from a photo ' +
    '(depth_from_image: the estimated depth map is then the last output, depth.png)',
  CONTROLNET_DEPTH_REPO,
  'list',
  [
    PROMPT,
    image('hint', 'Depth map (near = white), resized to the output size; or give depth_from_image', false),
    image('depth_from_image', 'A photo whose depth map (estimated with Intel/dpt-large) becomes the hint, instead of hint', false),
    image('image', 'Starting image for image-to-image with the depth map; leave blank to start from noise', false),
    STRENGTH,
    NEGATIVE_PROMPT,
    ...DECODER_SETTINGS,
  ],
  (v, c) => {
    const init = v.image('image');
    const photo = v.image('depth_from_image');
    const hint = photo ? {} : { hint: hintFromImage(v.image('hint')!, v.number('width'), v.number('height')) };
    const hintFrom = photo ? { hintFrom: { photo, depthModel: c.dirs[DEPTH_REPO] } } : {};
    const common = { ...decoderRequest(v, c, CONTROLNET_DEPTH_REPO), ...hint, ...hintFrom };
    return init ? { ...common, mode: 'controlnet_img2img', image: init, strength: v.number('strength') } : { ...common, mode: 'controlnet' };
  },
  (v, dirs) => {
    const given = ['hint', 'depth_from_image'].filter((k) => v.image(k) !== undefined);
    if (given.length === 0) return [{ type: 'required', field: 'input', description: 'hint is required (or depth_from_image)' }];
    if (given.length === 2) return [{ type: 'additional_property_not_allowed', field: 'input.depth_from_image', description: 'Give hint or depth_from_image, not both' }];
    if (given[0] === 'depth_from_image' && !dirs[DEPTH_REPO]) {
      return [{ type: 'format', field: 'input.depth_from_image', description: `Depth estimation is not available on this server (${DEPTH_REPO} is not among its models)` }];
    }
    return v.image('image') ? strengthLeavesSteps(v) : [];
  },
  [DEPTH_REPO],
);

const PRIOR = model(
  'kandinsky-2.2-prior',
  'Kandinsky 2.2 prior: CLIP image embeddings of a prompt, as one JSON file {image_embeds, negative_image_embeds}',
  undefined,
  'file',
  [
    PROMPT,
    NEGATIVE_PROMPT,
    { ...NUM_INFERENCE_STEPS_PRIOR, name: 'num_inference_steps', description: 'Number of denoising steps of the prior' },
    { ...NUM_OUTPUTS, description: 'Number of embeddings to output.' },
    { ...PRIOR_GUIDANCE_SCALE, name: 'guidance_scale' },
    SEED,
  ],
  (v, { dirs, seed }) => ({
    mode: 'prior',
    prior: dirs[PRIOR_REPO],
    prompt: v.string('prompt'),
    negativePrompt: v.optionalString('negative_prompt') ?? null,
    numInferenceStepsPrior: v.number('num_inference_steps'),
    numOutputs: v.number('num_outputs'),
    priorGuidanceScale: v.number('guidance_scale'),
    seed,
  }),
);

export const MODE_MODELS: readonly ModelDefinition[] = [IMG2IMG, INPAINT, FUSE, CONTROLNET_DEPTH, PRIOR];
