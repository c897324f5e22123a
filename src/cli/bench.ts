import { Argument, type Command } from 'commander';
import { runApiBench, runBench, type BenchTarget } from '../bench/index.js';
import type { Device } from '../onnx/index.js';
import { device, pixelSize, positiveInt } from './options.js';

// `api` times the service, not a network: it is never part of `all`.
const TARGETS: (BenchTarget | 'api')[] = ['unet', 'movq', 'prior', 'text', 'dpt', 'text2img', 'matmul', 'all', 'api'];

interface BenchFlags {
  size?: number;
  batch?: number;
  steps?: number;
  priorSteps?: number;
  threads?: number;
  runs: number;
  device?: Device;
  profile?: boolean;
  prepack?: boolean;
  store: string;
  duration: number;
  connections: number;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time the networks (published configs, random weights cached on disk), or the service (api); one JSON line per measurement')
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
    .option('--store <url>', 'api: sqlite (in a temporary folder) or postgres://USER@HOST/DB (a scratch database)', 'sqlite')
    .option('--duration <s>', 'api: seconds of each load phase', positiveInt, 10)
    .option('--connections <n>', 'api: concurrent clients', positiveInt, 50)
    .action(async (what: BenchTarget | 'api', opts: BenchFlags) => {
      const emit = (m: object) => console.log(JSON.stringify(m));
      if (what === 'api') await runApiBench({ store: opts.store, durationS: opts.duration, connections: opts.connections }, emit);
      else await runBench(what, opts, emit);
    });
}
