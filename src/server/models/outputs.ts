// The output files of a run, as the hosted model saves them (PIL's defaults for each format).
import type { GenerationResult } from '../../generation/index.js';
import { encodeImage, toPilImages } from '../../image/index.js';
import type { Float32Tensor } from '../../tensor/index.js';
import type { OutputPlan } from './plan-run.js';

export interface RenderedOutput {
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

const CONTENT_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;

/** The name of the estimated depth map among a prediction's outputs. */
export const DEPTH_OUTPUT = 'depth.png';

export async function renderOutputs(plan: OutputPlan, result: GenerationResult): Promise<RenderedOutput[]> {
  if (plan.kind === 'embeddings') {
    const json = { image_embeds: rows(result.imageEmbeds!), negative_image_embeds: rows(result.negativeImageEmbeds!) };
    return [{ name: plan.name, contentType: 'application/json', bytes: new TextEncoder().encode(JSON.stringify(json)) }];
  }
  const images = toPilImages(result.images!);
  const outputs = await Promise.all(
    plan.names.map(async (name, i) => ({ name, contentType: CONTENT_TYPES[plan.format], bytes: new Uint8Array(await encodeImage(images[i], plan.format)) })),
  );
  // A depth map estimated from a photo (ControlNet-depth's depth_from_image) comes last, so callers can show it.
  if (result.depth) outputs.push({ name: DEPTH_OUTPUT, contentType: CONTENT_TYPES.png, bytes: new Uint8Array(await encodeImage(result.depth, 'png')) });
  return outputs;
}

/** [n, E] as n lists of numbers. */
function rows(t: Float32Tensor): number[][] {
  const [n, e] = t.shape;
  return Array.from({ length: n }, (_, i) => Array.from(t.data.subarray(i * e, (i + 1) * e)));
}
