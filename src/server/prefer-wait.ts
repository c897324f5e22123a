// `Prefer: wait` / `wait=N` (replicate-api.md §8): hold a create until the prediction ends or N seconds pass.

const MAX_WAIT_S = 60;

export interface WaitPreference {
  readonly seconds: number;
  /** The Preference-Applied value: the preference as honoured. */
  readonly applied: string;
}

/** The wait asked for, clamped to 1…60 s; other preferences and unparseable values are ignored (§20.6). */
export function parsePreferWait(header: string | string[] | undefined): WaitPreference | undefined {
  const values = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(/[,;]/).map((v) => v.trim().toLowerCase());
  for (const v of values) {
    const m = /^wait(?:\s*=\s*"?(\d+)"?)?$/.exec(v);
    if (!m) continue;
    if (m[1] === undefined) return { seconds: MAX_WAIT_S, applied: 'wait' };
    const seconds = Math.min(MAX_WAIT_S, Math.max(1, Number(m[1])));
    return { seconds, applied: `wait=${seconds}` };
  }
  return undefined;
}
