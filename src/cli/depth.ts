import { extname } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { findModel, type FoundModel } from '../generation/index.js';
import { readImage, writeImageFile, type PilImage } from '../image/index.js';
import type { Device } from '../onnx/index.js';
import { DEFAULT_DEPTH_MODEL, estimateDepthMap } from '../pipelines/index.js';
import { createPullProgress } from '../weights/index.js';
import { device, positiveInt } from './options.js';

export interface DepthOptions {
  /** A folder, a Hugging Face cache entry or a hub repo id (default Intel/dpt-large). */
  readonly model?: string;
  /** The flag that named the model, for messages. */
  readonly what: string;
  readonly revision?: string;
  readonly device?: Device;
  readonly threads?: number;
  readonly signal?: AbortSignal;
}

export function registerDepth(program: Command): void {
  program
    .command('depth')
    .description('estimate the depth map of a photo (transformers\' depth-estimation pipeline), as an 8-bit grey PNG: near is bright')
    .argument('<photo>', 'the picture (PNG, JPEG or WebP)')
    .requiredOption('--out <path>', 'the depth map to write (.png)')
    .option('--model <repo>', `a DPT depth model: a folder, a Hugging Face cache entry or a hub repo id (default ${DEFAULT_DEPTH_MODEL})`)
    .option('--revision <rev>', 'hub revision of --model')
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu, ...', device)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .action(async (photo: string, opts: { out: string; model?: string; revision?: string; device?: Device; threads?: number }) => {
      if (extname(opts.out).toLowerCase() !== '.png') throw new InputError(`--out ${opts.out}: the depth map is written as PNG; give a .png name`);
      const { depth } = await estimateDepth(await readImage(photo), { ...opts, what: '--model' });
      await writeImageFile(opts.out, depth, 'png');
      console.log(opts.out);
    });
}

/**
 * The depth map of `photo` at its own size (the pipeline's `depth`), the model found or pulled as every other
 * model is, and released before this returns: DPT-Large holds 1.3 GB that the Kandinsky networks then need.
 */
export async function estimateDepth(photo: PilImage, o: DepthOptions): Promise<{ depth: PilImage; model: FoundModel }> {
  const view = createPullProgress();
  let model: FoundModel;
  try {
    model = await findModel(o.model ?? DEFAULT_DEPTH_MODEL, { what: o.what, revision: o.revision, onPullProgress: view.onProgress, signal: o.signal });
  } finally {
    view.stop();
  }
  return { depth: await estimateDepthMap(model.dir, photo, { device: o.device, threads: o.threads }), model };
}
