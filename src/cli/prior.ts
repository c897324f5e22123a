import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { findModel } from '../generation/index.js';
import { checkDevice } from '../onnx/index.js';
import { DEFAULT_PRIOR } from '../pipelines/index.js';
import { createPullProgress, writeSafetensors } from '../weights/index.js';
import { cancellable } from './cancellation.js';
import { runInWorker } from './generation-progress.js';
import { planGeneration, type GenerateFlags } from './generate-options.js';

export function registerPrior(program: Command): void {
  program
    .command('prior')
    .description('run the prior alone: a prompt -> CLIP image embeddings, saved for `generate --image-embeds`')
    .argument('<prompt>', 'what to draw')
    .requiredOption('--out <file.safetensors>', 'where to write image_embeds and negative_image_embeds')
    .option('--negative-prompt <text>', 'its embedding becomes negative_image_embeds (default: the zero-image embedding)')
    .option('--num-outputs <n>', 'embeddings to make (default 1)')
    .option('--num-inference-steps-prior <n>', 'prior steps (default 25)')
    .option('--prior-steps <n>', 'alias of --num-inference-steps-prior')
    .option('--prior-guidance-scale <x>', 'prior guidance (default 4)')
    .option('--seed <n>', 'random seed (drawn and printed when absent)')
    .option('--prior <prior>', `prior repo: a folder, a cache entry or a hub repo id (default ${DEFAULT_PRIOR})`)
    .option('--revision <rev>', 'hub revision of --prior')
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu, ...')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .action(async (prompt: string, flags: GenerateFlags & { out: string }) => {
      if (!flags.out.endsWith('.safetensors')) throw new InputError(`--out ${flags.out}: the embeddings are written as a .safetensors file`);
      const plan = planGeneration(prompt, { ...flags, out: undefined });
      const device = flags.device === undefined ? undefined : checkDevice(flags.device);
      await cancellable(async (signal) => {
        const pullView = createPullProgress();
        const prior = await findModel(flags.prior ?? DEFAULT_PRIOR, { revision: flags.revision, what: '--prior', onPullProgress: pullView.onProgress, signal }).finally(() => pullView.stop());
        const seed = plan.seed ?? BigInt(randomInt(2 ** 32));
        console.error(`Using seed: ${seed}`);
        const result = await runInWorker({
          mode: 'prior', prior: prior.dir, prompt, negativePrompt: plan.negativePrompt ?? null, numOutputs: plan.numOutputs,
          numInferenceStepsPrior: plan.numInferenceStepsPrior, priorGuidanceScale: plan.priorGuidanceScale, seed,
        }, { device, threads: plan.threads }, signal);
        const bytes = (t: { data: Float32Array }) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        writeSafetensors(flags.out, {
          image_embeds: { dtype: 'F32', shape: result.imageEmbeds!.shape, bytes: bytes(result.imageEmbeds!) },
          negative_image_embeds: { dtype: 'F32', shape: result.negativeImageEmbeds!.shape, bytes: bytes(result.negativeImageEmbeds!) },
        }, { prompt, negative_prompt: plan.negativePrompt ?? '', seed: seed.toString(), prior: prior.source.id });
        console.log(flags.out);
      });
    });
}
