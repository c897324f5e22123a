// From a prediction's input to a generation: validated, defaults filled, images decoded (checkInput), the seed
// drawn as the hosted model draws it, and how the outputs are to be named and encoded (planRun).
import { randomInt } from 'node:crypto';
import { InputError, KandinskyError } from '../../errors.js';
import type { GenerationRequest } from '../../generation/index.js';
import type { ImageFormat, PilImage } from '../../image/index.js';
import type { InvalidField } from '../types.js';
import type { ServedModel } from './catalogue.js';
import type { CogInput } from './cog-schema.js';
import type { InputValues, VersionDefinition } from './model-definition.js';
import { validateInput } from './validate.js';

/** Turns an image input (data URL, this server's file URL, an upload's URL) into pixels; `field` is `image` or `images.1`. */
export type ImageResolver = (field: string, uri: string) => Promise<PilImage>;

/** A 422 with invalid_fields (replicate-api.md §5.1). */
export class InputValidationError extends InputError {
  constructor(readonly fields: readonly InvalidField[]) {
    super(`input validation failed: ${fields.map((f) => `${f.field || 'body'}: ${f.description}`).join('; ')}`);
  }
}

/** A version id this model does not have (the §5.2 "Invalid version or not permitted" 422). */
export class InvalidVersionError extends InputError {
  constructor(readonly model: string, readonly versionId: string) {
    super(`${model} has no version ${versionId}`);
  }
}

export type OutputPlan =
  /** `out-{i}.{format}`, one per image, in order. */
  | { readonly kind: 'images'; readonly format: ImageFormat; readonly names: readonly string[] }
  /** The prior's embeddings as one JSON file. */
  | { readonly kind: 'embeddings'; readonly name: string };

export interface RunPlan {
  readonly request: GenerationRequest;
  readonly outputs: OutputPlan;
  readonly seed: number;
  /** What the logs start with, before the progress lines: `Using seed: N\n`. */
  readonly logPrelude: string;
}

/** An input that passed every check: its version, its values with the defaults filled in, its images decoded. */
export interface CheckedInput {
  readonly version: VersionDefinition;
  readonly values: Record<string, unknown>;
  readonly input: InputValues;
}

/**
 * Everything that can refuse an input (the version, the schema, each image decoded, the rules between
 * inputs), and nothing more: no seed drawn, no request built. The create route refuses with it; planRun
 * starts from it.
 */
export async function checkInput(model: ServedModel, versionId: string, input: Record<string, unknown>, resolveImage: ImageResolver): Promise<CheckedInput> {
  const d = model.definition;
  const version = d.versions.find((v) => v.id === versionId);
  if (!version) throw new InvalidVersionError(`${d.owner}/${d.name}`, versionId);
  const invalid = validateInput(version.openapiSchema, input);
  if (invalid.length > 0) throw new InputValidationError(invalid);
  const values = withDefaults(version.inputs, input);
  const images = await decodeImages(version.inputs, values, resolveImage);
  const v = inputValues(values, images);
  const more = d.check?.(v, model.dirs) ?? [];
  if (more.length > 0) throw new InputValidationError(more);
  return { version, values, input: v };
}

export async function planRun(model: ServedModel, versionId: string, input: Record<string, unknown>, resolveImage: ImageResolver): Promise<RunPlan> {
  const d = model.definition;
  const { version, values, input: v } = await checkInput(model, versionId, input, resolveImage);
  // KP: `int.from_bytes(os.urandom(2), "big")` when no seed is given.
  const seed = typeof values.seed === 'number' ? values.seed : randomInt(2 ** 16);
  const request = d.request(v, { dirs: model.dirs, seed });
  return { request, outputs: outputPlan(d.output, version, values, request.numOutputs ?? 1), seed, logPrelude: `Using seed: ${seed}\n` };
}

function withDefaults(inputs: readonly CogInput[], input: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const i of inputs) {
    if (Object.hasOwn(input, i.name)) values[i.name] = input[i.name];
    else if (i.default !== undefined) values[i.name] = i.default;
  }
  return values;
}

/** Every image input at once, so that a 422 names every unreadable one. */
async function decodeImages(inputs: readonly CogInput[], values: Record<string, unknown>, resolveImage: ImageResolver): Promise<Map<string, PilImage>> {
  const wanted = inputs
    .filter((i) => i.type === 'path' && values[i.name] !== undefined)
    .flatMap((i) => (i.list ? (values[i.name] as string[]).map((uri, k) => [`${i.name}.${k}`, uri] as const) : [[i.name, values[i.name] as string] as const]));
  const images = new Map<string, PilImage>();
  const invalid: InvalidField[] = [];
  for (const [field, uri] of wanted) {
    try {
      images.set(field, await resolveImage(field, uri));
    } catch (err) {
      if (!(err instanceof KandinskyError)) throw err;
      invalid.push({ type: 'format', field: `input.${field}`, description: `Does not match format 'image': ${err.message}` });
    }
  }
  if (invalid.length > 0) throw new InputValidationError(invalid);
  return images;
}

function inputValues(values: Record<string, unknown>, images: Map<string, PilImage>): InputValues {
  return {
    number: (name) => values[name] as number,
    string: (name) => values[name] as string,
    optionalString: (name) => values[name] as string | undefined,
    list: <T>(name: string) => (values[name] ?? []) as T[],
    image: (field) => images.get(field),
  };
}

function outputPlan(output: 'list' | 'file', version: VersionDefinition, values: Record<string, unknown>, count: number): OutputPlan {
  if (output === 'file') return { kind: 'embeddings', name: 'out.json' };
  const format = version.fixedFormat ?? (values.output_format as ImageFormat);
  return { kind: 'images', format, names: Array.from({ length: count }, (_, i) => `out-${i}.${format}`) };
}
