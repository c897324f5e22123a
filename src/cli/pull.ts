import type { Command } from 'commander';
import { createPullProgress, pull } from '../weights/index.js';

export function registerPull(program: Command): void {
  program
    .command('pull')
    .description('download a model repo into the Hugging Face cache (resumable, sha256-verified)')
    .argument('<repo>', 'repo id, e.g. kandinsky-community/kandinsky-2-2-decoder')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--variant <name>', 'weight variant, e.g. fp16')
    .action(async (repo: string, opts: { revision: string; variant?: string }) => {
      const view = createPullProgress();
      const controller = new AbortController();
      // Ctrl-C keeps the partial download; the next pull resumes it.
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      let snapshot: string;
      try {
        snapshot = await pull(repo, { revision: opts.revision, variant: opts.variant, onProgress: view.onProgress, signal: controller.signal });
      } finally {
        view.stop();
        process.off('SIGINT', onSigint);
      }
      console.log(snapshot);
    });
}
