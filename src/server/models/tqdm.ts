// The progress lines the hosted model's logs carry: tqdm's `format_meter` with its defaults (no ncols, so a
// 10-character unicode bar; unit "it"), one line per update, as Cog captures them (replicate-api.md §17).
import type { StepEvent } from '../../pipelines/index.js';

/** tqdm's unicode bar: a space, the eighth blocks ▏▎▍▌▋▊▉, then the full block. */
const CHARSET = ' ▏▎▍▌▋▊▉█';
const BAR_LENGTH = 10;

/**
 * The lines one step adds to the logs: the step's own meter, preceded by the stage's `0/N` line on its first
 * step (tqdm prints that line when the bar opens). The rate is the stage's average (tqdm with smoothing=0):
 * events carry the elapsed time only.
 */
export function tqdmLines(event: StepEvent): string[] {
  const line = formatMeter(event.step, event.total, event.elapsed);
  return event.step === 1 ? [formatMeter(0, event.total, 0), line] : [line];
}

/** tqdm's `format_meter(n, total, elapsed)` for the default bar format. */
export function formatMeter(n: number, total: number, elapsed: number): string {
  const rate = elapsed ? n / elapsed : undefined;
  const invRate = rate ? 1 / rate : undefined;
  const rateFmt = invRate !== undefined && invRate > 1 ? `${pyFixed(invRate, 2, 5)}s/it` : `${rate ? pyFixed(rate, 2, 5) : '?'}it/s`;
  const remaining = rate ? formatInterval((total - n) / rate) : '?';
  const frac = n / total;
  return `${pyFixed(frac * 100, 0, 3)}%|${bar(frac)}| ${n}/${total} [${formatInterval(elapsed)}<${remaining}, ${rateFmt}]`;
}

/** tqdm's `Bar.__format__`: whole blocks, one partial block, then spaces. */
function bar(frac: number): string {
  const symbols = CHARSET.length - 1;
  const eighths = Math.trunc(frac * BAR_LENGTH * symbols);
  const whole = Math.floor(eighths / symbols);
  let out = CHARSET[symbols].repeat(whole);
  if (whole < BAR_LENGTH) out += CHARSET[eighths % symbols] + CHARSET[0].repeat(BAR_LENGTH - whole - 1);
  return out;
}

/** tqdm's `format_interval`: [H:]MM:SS of the whole seconds. */
function formatInterval(seconds: number): string {
  const t = Math.trunc(seconds);
  const [h, m, s] = [Math.floor(t / 3600), Math.floor(t / 60) % 60, t % 60];
  const two = (v: number) => String(v).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** Python's `'{:W.Df}'.format(x)`: like toFixed, but an exact tie rounds to even, as Python does. */
export function pyFixed(x: number, digits: number, width: number): string {
  const scaled = x * 10 ** digits;
  let text = x.toFixed(digits);
  if (scaled - Math.floor(scaled) === 0.5 && Math.floor(scaled) % 2 === 0) text = (Math.floor(scaled) / 10 ** digits).toFixed(digits);
  return text.padStart(width);
}
