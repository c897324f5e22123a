import type { CogSchema } from '../api.js';

// STUB (replaced by the form helper): a model version's inputs, from its Cog schema.

/** The input a form starts from: every default of the schema. */
export function defaultInput(schema: CogSchema): Record<string, unknown> {
  const props = schema.components.schemas.Input?.properties ?? {};
  return Object.fromEntries(Object.entries(props).filter(([, p]) => p.default !== undefined).map(([k, p]) => [k, p.default]));
}
