import { AbortedError } from '../pipelines/index.js';

/**
 * Runs a command's work with Ctrl-C wired to an AbortSignal: the first stops it between two steps (nothing is
 * written, exit status 130), a second quits at once.
 */
export async function cancellable(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping after this step (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    await work(controller.signal);
  } catch (err) {
    if (!(err instanceof AbortedError)) throw err;
    console.error('kandinsky: cancelled; nothing was written');
    process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * Keeps a long-running command (serve, worker) up until SIGINT or SIGTERM, then closes it gracefully: the
 * running prediction finishes. A second signal quits at once.
 */
export async function runUntilSignal(command: string, close: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      console.error(`kandinsky ${command}: ${signal}: finishing the running prediction, then stopping (again to stop at once)`);
      process.once(signal, () => process.exit(130));
      void close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
