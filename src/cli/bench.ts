import { InvalidArgumentError, type Command } from 'commander';
import { runBench, type BenchTarget } from '../bench/index.js';
import { checkDevice } from '../onnx/index.js';

const TARGETS: BenchTarget[] = ['unet', 'movq', 'prior', 'text', 'text2img', 'matmul', 'all'];

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time the networks (published configs, random weights cached on disk); one JSON line per measurement')
    .argument('[what]', `one of ${TARGETS.join(', ')}`, 'all')
    .option('--size <px>', 'image size in pixels (multiple of 64)', positiveInt('--size'))
    .option('--batch <n>', 'batch size', positiveInt('--batch'))
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt('--threads'))
    .option('--steps <n>', 'text2img: decoder steps (default 3)', positiveInt('--steps'))
    .option('--prior-steps <n>', 'text2img: prior steps (default 3)', positiveInt('--prior-steps'))
    .option('--runs <n>', 'timed runs after the warm-up (median reported)', positiveInt('--runs'), 1)
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu, ...')
    .option('--profile', 'also print the time per operator type of the warm-up run')
    .option('--prepack', "force onnxruntime's weight prepacking on (default: per network, as the pipelines load them)")
    .option('--no-prepack', 'force weight prepacking off (weights mapped from the checkpoint, faster load)')
    .action(async (what: string, opts: { size?: number; batch?: number; steps?: number; priorSteps?: number; threads?: number; runs: number; device?: string; profile?: boolean; prepack?: boolean }) => {
      if (!TARGETS.includes(what as BenchTarget)) throw new InvalidArgumentError(`unknown benchmark "${what}"; choose one of ${TARGETS.join(', ')}`);
      if (opts.size !== undefined && opts.size % 64 !== 0) throw new InvalidArgumentError(`--size must be a multiple of 64, got ${opts.size}`);
      const device = opts.device === undefined ? undefined : checkDevice(opts.device);
      await runBench(what as BenchTarget, { ...opts, device }, (m) => console.log(JSON.stringify(m)));
    });
}
