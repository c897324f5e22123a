import type { InvalidField } from '../api.js';

/** Messages by input name; '' for what belongs to no one input (the request as a whole). */
export type FieldErrors = Record<string, string>;

/**
 * A 422's `invalid_fields` (§5.1) by input: `input.<key>` (or `input.<key>.<i>` in a list) is that input's; a
 * `required` entry on `input` names its key first in its description (`prompt is required`). The form shows
 * a key that is none of its fields with the request's own errors.
 */
export function fieldErrors(invalid: readonly InvalidField[]): FieldErrors {
  const out: FieldErrors = {};
  for (const f of invalid) {
    const key = f.field.startsWith('input.') ? f.field.slice('input.'.length).split('.')[0] : f.field === 'input' ? f.description.split(' ')[0] : '';
    out[key] = out[key] ? `${out[key]}; ${f.description}` : f.description;
  }
  return out;
}
