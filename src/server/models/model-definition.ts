import type { GenerationRequest } from '../../generation/index.js';
import type { PilImage } from '../../image/index.js';
import type { InvalidField, ModelVersion } from '../types.js';
import type { CogInput, CogOutput } from './cog-schema.js';

export const PRIOR_REPO = 'kandinsky-community/kandinsky-2-2-prior';
export const DECODER_REPO = 'kandinsky-community/kandinsky-2-2-decoder';
export const INPAINT_DECODER_REPO = 'kandinsky-community/kandinsky-2-2-decoder-inpaint';
export const CONTROLNET_DEPTH_REPO = 'kandinsky-community/kandinsky-2-2-controlnet-depth';
/** The depth model of transformers' depth-estimation pipeline, for the ControlNet hint from a photo. */
export const DEPTH_REPO = 'Intel/dpt-large';

/** A version: its wire object plus the `Input(...)` list its schema was built from. */
export interface VersionDefinition extends ModelVersion {
  readonly inputs: readonly CogInput[];
  /** Versions without `output_format` always write this one. */
  readonly fixedFormat?: 'png';
}

/** A validated input with the schema's defaults filled in, read by name. */
export interface InputValues {
  number(name: string): number;
  string(name: string): string;
  optionalString(name: string): string | undefined;
  list<T>(name: string): readonly T[];
  /** A decoded image input: `image`, or `images.1` for a list entry. */
  image(field: string): PilImage | undefined;
}

/** What a model's run needs besides its input: the repo folders and the seed already drawn. */
export interface RunContext {
  readonly dirs: Readonly<Record<string, string>>;
  readonly seed: number;
}

export interface ModelDefinition {
  readonly owner: string;
  readonly name: string;
  readonly description: string;
  readonly githubUrl: string | null;
  /** The Hugging Face repos it runs; it is served only when every one is present. */
  readonly repos: readonly string[];
  /** Repos some inputs need: found when present (their folders join `dirs`), never required. */
  readonly optionalRepos?: readonly string[];
  readonly output: CogOutput;
  /** Newest (latest) first. */
  readonly versions: readonly VersionDefinition[];
  /** Rules between inputs that a Cog schema cannot state, as more invalid_fields; `dirs` holds the repos present. */
  readonly check?: (input: InputValues, dirs: Readonly<Record<string, string>>) => InvalidField[];
  readonly request: (input: InputValues, context: RunContext) => GenerationRequest;
}

/**
 * What every decoder model reads the same way from its input (the mode adds its images). `guidance` stands in for
 * the guidance inputs of a model that has none (the hosted one: 4 for both).
 */
export function decoderRequest(
  v: InputValues, { dirs, seed }: RunContext, decoderRepo: string, guidance?: { readonly guidanceScale: number; readonly priorGuidanceScale: number },
): Omit<GenerationRequest, 'mode'> {
  return {
    prior: dirs[PRIOR_REPO],
    decoder: dirs[decoderRepo],
    prompt: v.optionalString('prompt'),
    negativePrompt: v.optionalString('negative_prompt') ?? null,
    width: v.number('width'),
    height: v.number('height'),
    numInferenceSteps: v.number('num_inference_steps'),
    numInferenceStepsPrior: v.number('num_inference_steps_prior'),
    numOutputs: v.number('num_outputs'),
    guidanceScale: guidance?.guidanceScale ?? v.number('guidance_scale'),
    priorGuidanceScale: guidance?.priorGuidanceScale ?? v.number('prior_guidance_scale'),
    seed,
  };
}
