// A prediction's progress read from its logs, as the official clients read it (replicate-api.md §17): the tqdm
// lines the model prints, one per update. Pure, so that it runs under Node in the tests.

/** The clients' progress pattern (JS `parseProgressFromLogs`, PY `Prediction.progress`). */
const METER = /^\s*(\d+)%\s*\|.+?\|\s*(\d+)\/(\d+)/;
/** The hosted model's first line (KP `print(f"Using seed: {seed}")`). */
const SEED = /^Using seed: (\d+)\s*$/;

export interface Meter {
  readonly done: number;
  readonly total: number;
}

export interface LogProgress {
  readonly seed: number | null;
  /** One meter per tqdm bar, in the order they ran: the last line of each. */
  readonly meters: readonly Meter[];
}

/**
 * The last line of each bar wins; a new bar begins at its `0/N` line (tqdm prints it when the bar opens), or
 * where the count goes back or the total changes (a bar whose opening line was lost).
 */
export function readLogs(logs: string): LogProgress {
  let seed: number | null = null;
  const meters: Meter[] = [];
  for (const line of logs.split(/\r\n|\r|\n/)) {
    const s = SEED.exec(line);
    if (s) seed = Number(s[1]);
    const m = METER.exec(line);
    if (!m) continue;
    const meter = { done: Number(m[2]), total: Number(m[3]) };
    const last = meters.at(-1);
    if (!last || meter.done === 0 || meter.done < last.done || meter.total !== last.total) meters.push(meter);
    else meters[meters.length - 1] = meter;
  }
  return { seed, meters };
}

/**
 * The denoising loops each model runs, in order (seen in the logs of `kandinsky serve`): the hosted model runs
 * the prior on the prompt and again on the negative text; the modes run the prior once (its negative is in the
 * same batch); fuse runs it once per text, then once on the negative prompt for the negative embedding (diffusers'
 * `interpolate`); depth estimation and the image encoder print no bar.
 */
const STAGES: Record<string, (input: Record<string, unknown>) => string[]> = {
  'ai-forever/kandinsky-2.2': () => ['Prior', 'Negative prior', 'Decoder'],
  'kandinsky/kandinsky-2.2-img2img': () => ['Prior', 'Decoder'],
  'kandinsky/kandinsky-2.2-inpaint': () => ['Prior', 'Decoder'],
  'kandinsky/kandinsky-2.2-controlnet-depth': () => ['Prior', 'Decoder'],
  'kandinsky/kandinsky-2.2-fuse': (input) => {
    const texts = Array.isArray(input.texts) ? input.texts.length : 0;
    const priors = texts <= 1 ? ['Prior'] : Array.from({ length: texts }, (_, i) => `Prior (text ${i + 1})`);
    return [...priors, 'Negative prior', 'Decoder'];
  },
  'kandinsky/kandinsky-2.2-prior': () => ['Prior'],
};

export interface StageProgress {
  readonly name: string;
  readonly done: number;
  /** null while the stage has not started (its step count is not in the logs yet). */
  readonly total: number | null;
}

export interface Progress {
  readonly seed: number | null;
  readonly stages: readonly StageProgress[];
}

/** The stages of a prediction of `model` with this input: those of its logs, named, then those still to come. */
export function progressOf(model: string, input: Record<string, unknown>, logs: string): Progress {
  const { seed, meters } = readLogs(logs);
  const names = STAGES[model]?.(input) ?? [];
  const count = Math.max(names.length, meters.length);
  const stages = Array.from({ length: count }, (_, i) => ({
    name: names[i] ?? `Stage ${i + 1}`,
    done: meters[i]?.done ?? 0,
    total: meters[i]?.total ?? null,
  }));
  return { seed, stages };
}
