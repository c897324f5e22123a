// The terminal view of `pull`: two bars (all files, current file) on a TTY; one line per finished file
// otherwise, so that logs and CI output stay readable instead of filling with carriage returns.
import cliProgress from 'cli-progress';
import type { PullProgress } from './hub.js';

export interface PullProgressView {
  onProgress: (progress: PullProgress) => void;
  /** Leaves the terminal clean; call once the pull has settled, also after an error. */
  stop: () => void;
}

/** A stream that may be a terminal: process.stderr, or anything writable in a test. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export function createPullProgress(stream: ProgressStream = process.stderr): PullProgressView {
  return stream.isTTY ? barView(stream) : lineView(stream);
}

function lineView(stream: ProgressStream): PullProgressView {
  return {
    onProgress: (progress) => {
      if (progress.event === 'done') stream.write(`${finishedLine(progress)}\n`);
    },
    stop: () => {},
  };
}

function barView(stream: ProgressStream): PullProgressView {
  const bars = new cliProgress.MultiBar(
    { stream, format: ' {bar} {percentage}% | {amount} | {label}', barsize: 30, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let overall: cliProgress.SingleBar | undefined;
  let current: cliProgress.SingleBar | undefined;
  return {
    onProgress: (progress) => {
      const all = {
        amount: `${formatBytes(progress.bytesAllFiles)}/${formatBytes(progress.totalBytesAllFiles)}`,
        label: `file ${progress.fileIndex} of ${progress.fileCount}`,
      };
      overall ??= bars.create(progress.totalBytesAllFiles, 0, all);
      overall.update(progress.bytesAllFiles, all);
      const one = { amount: `${formatBytes(progress.bytes)}/${formatBytes(progress.total)}`, label: progress.file };
      if (progress.event === 'start') current = bars.create(progress.total, progress.bytes, one);
      current?.update(progress.bytes, one);
      if (progress.event === 'done') {
        // The log is flushed by the next redraw, which remove() and update() force; stop() would drop it.
        bars.log(`${finishedLine(progress)}\n`);
        if (current === undefined) bars.update();
        else bars.remove(current);
        current = undefined;
      }
    },
    stop: () => bars.stop(),
  };
}

function finishedLine(progress: PullProgress): string {
  const how = progress.cached ? 'cached' : 'downloaded';
  return `${how} ${progress.file} (${formatBytes(progress.total)}) [${progress.fileIndex}/${progress.fileCount}]`;
}

/** Sizes as the hub shows them: decimal units, one decimal. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
