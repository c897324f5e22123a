import type { Command } from 'commander';
import { formatResult, runConformance } from '../conformance/index.js';
import type { Device } from '../onnx/index.js';
import { device, positiveInt, regExp } from './options.js';

export function registerConformance(program: Command): void {
  program
    .command('conformance')
    .description('run a golden set (format kandinsky-golden/1) and compare every case with the reference')
    .argument('<dir>', 'folder holding manifest.json')
    .option('--kinds <list>', 'comma-separated kinds to run; the others are left out')
    .option('--filter <regex>', 'run only cases whose name matches', regExp)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .option('--device <name>', 'execution provider: cpu, cuda, webgpu, ... (default: the best available)', device)
    .action(async (dir: string, opts: { kinds?: string; filter?: RegExp; threads?: number; device?: Device }) => {
      const kinds = opts.kinds?.split(',').map((k) => k.trim()).filter(Boolean);
      const report = await runConformance(dir, {
        kinds,
        filter: opts.filter,
        threads: opts.threads,
        device: opts.device,
        onResult: (r) => console.log(formatResult(r)),
      });
      const absent = kinds?.filter((k) => !report.results.some((r) => r.kind === k)) ?? [];
      if (absent.length > 0) console.log(`no case of kind ${absent.join(', ')} in ${dir} (matching the filter)`);
      if (report.leftOut.size > 0) {
        const total = [...report.leftOut.values()].reduce((a, b) => a + b, 0);
        const list = [...report.leftOut].map(([k, n]) => `${k} (${n})`).join(', ');
        console.log(`left out by --kinds: ${total} case(s) of kinds ${list}`);
      }
      console.log(`${report.passed} passed, ${report.failed} failed`);
      process.exitCode = report.failed > 0 ? 1 : 0;
    });
}
