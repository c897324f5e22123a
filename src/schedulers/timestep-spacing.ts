import type { ConfigFields } from '../config/index.js';
import { roundHalfEven } from './float32.js';

// The three `timestep_spacing` rules of DDPM, DDIM and DPM-Solver (arXiv 2305.08891 table 2), computed as numpy
// computes them in float64 so that every rounding lands where the reference's does (doc §5.2).

export const TIMESTEP_SPACINGS = ['leading', 'linspace', 'trailing'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

export interface Spacing {
  readonly timestepSpacing: TimestepSpacing;
  readonly stepsOffset: number;
}

export function readSpacing(fields: ConfigFields, fallback: TimestepSpacing): Spacing {
  return {
    timestepSpacing: fields.oneOf<TimestepSpacing>('timestep_spacing', TIMESTEP_SPACINGS, fallback),
    stepsOffset: fields.integer('steps_offset', 0),
  };
}

/** Descending timesteps: `count` points of the rule over `[0, numTrainTimesteps)`. */
export function spacedTimesteps(spacing: Spacing, numTrainTimesteps: number, count: number): number[] {
  switch (spacing.timestepSpacing) {
    case 'linspace':
      return numpyLinspace(0, numTrainTimesteps - 1, count).map(roundHalfEven).reverse();
    case 'leading': {
      const ratio = Math.floor(numTrainTimesteps / count);
      return Array.from({ length: count }, (_, i) => (count - 1 - i) * ratio + spacing.stepsOffset);
    }
    case 'trailing':
      return numpyArange(numTrainTimesteps, 0, -numTrainTimesteps / count).map((t) => roundHalfEven(t) - 1);
  }
}

/** `np.linspace(start, stop, num)`: `i * step + start`, the last point set to `stop` exactly. */
export function numpyLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

/** `np.arange(start, stop, step)` for a float step: numpy fills `start + i * (a[1] - a[0])`. */
function numpyArange(start: number, stop: number, step: number): number[] {
  const length = Math.max(Math.ceil((stop - start) / step), 0);
  const delta = start + step - start;
  return Array.from({ length }, (_, i) => (i === 1 ? start + step : start + i * delta));
}
