import { Argument, type Command } from 'commander';
import { runBench, type BenchTarget } from '../bench/index.js';
import type { Device } from '../onnx/index.js';
import { device, pixelSize, positiveInt } from './options.js';

const TARGETS: BenchTarget[] = ['unet', 'movq', 'prior', 'text', 'dpt', 'text2img', 'matmul', 'all'];

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time the networks (published configs, random weights cached on disk); one JSON line per measurement')
    .addArgument(new Argument('[what]', 'what to time').choices(TARGETS).default('all'))
    .option('--size <px>', 'image size in pixels (multiple of 64)', pixelSize)
    .option('--batch <n>', 'batch size', positiveInt)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .option('--steps <n>', 'text2img: decoder steps (default 3)', positiveInt)
    .option('--prior-steps <n>', 'text2img: prior steps (default 3)', positiveInt)
    .option('--runs <n>', 'timed runs after the warm-up (median reported)', positiveInt, 1)
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu, ...', device)
    .option('--profile', 'also print the time per operator type of the warm-up run')
    .option('--prepack', "force onnxruntime's weight prepacking on (default: per network, as the pipelines load them)")
    .option('--no-prepack', 'force weight prepacking off (weights mapped from the checkpoint, faster load)')
    .action(async (what: BenchTarget, opts: { size?: number; batch?: number; steps?: number; priorSteps?: number; threads?: number; runs: number; device?: Device; profile?: boolean; prepack?: boolean }) => {
      await runBench(what, opts, (m) => console.log(JSON.stringify(m)));
    });
}
