// Validation with the entries api.replicate.com puts in a 422 (replicate-api.md §5.1): gojsonschema's error
// types and message templates, one entry per bad key, keys outside the schema ignored.
import type { InvalidField } from '../types.js';

type Json = Record<string, unknown>;

/** The part of JSON Schema a Cog `Input` (and the create request) uses. */
interface PropertySchema {
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: string;
  readonly items?: PropertySchema;
  readonly allOf?: readonly { readonly $ref: string }[];
}

/** gojsonschema's name for a JSON value's type: integer for whole numbers, number otherwise. */
export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * The invalid_fields of `input` against a Cog document's `Input` component: missing required keys first
 * (field `input`), then each bad value in schema order (field `input.<key>`).
 */
export function validateInput(openapiSchema: Json, input: Json): InvalidField[] {
  const components = (openapiSchema.components as Json).schemas as Json;
  const schema = components.Input as { properties: Record<string, PropertySchema>; required?: readonly string[] };
  const resolve = (p: PropertySchema): PropertySchema =>
    p.allOf ? Object.assign({}, ...p.allOf.map((r) => components[r.$ref.split('/').pop()!] as PropertySchema), p) : p;
  const fields: InvalidField[] = (schema.required ?? [])
    .filter((key) => !(key in input))
    .map((key) => ({ type: 'required', field: 'input', description: `${key} is required` }));
  for (const [key, property] of Object.entries(schema.properties)) {
    if (!(key in input)) continue;
    const bad = checkValue(key, input[key], resolve(property));
    if (bad) fields.push({ ...bad, field: `input.${bad.field}` });
  }
  return fields;
}

/**
 * The first failure of one value, in gojsonschema's order: type (which stops the rest), enum, bounds,
 * format, then array items. `field` is relative to the object that holds the value.
 */
export function checkValue(field: string, value: unknown, schema: PropertySchema): InvalidField | undefined {
  const given = jsonTypeName(value);
  if (schema.type && !(given === schema.type || (schema.type === 'number' && given === 'integer'))) {
    return { type: 'invalid_type', field, description: `Invalid type. Expected: ${schema.type}, given: ${given}` };
  }
  if (schema.enum && !schema.enum.includes(value)) {
    return { type: 'enum', field, description: `${field} must be one of the following: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}` };
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return { type: 'number_gte', field, description: `Must be greater than or equal to ${schema.minimum}` };
    if (schema.maximum !== undefined && value > schema.maximum) return { type: 'number_lte', field, description: `Must be less than or equal to ${schema.maximum}` };
  }
  if (schema.format === 'uri' && typeof value === 'string' && !isUri(value)) {
    return formatError(field, 'uri');
  }
  if (schema.items && Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const bad = checkValue(`${field}.${i}`, item, schema.items);
      if (bad) return bad;
    }
  }
  return undefined;
}

export function formatError(field: string, format: string): InvalidField {
  return { type: 'format', field, description: `Does not match format '${format}'` };
}

/** gojsonschema's URI check: Go's url.Parse succeeds and there is a scheme. */
function isUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) && !/[\s<>"{}|\\^`]/.test(value);
}

const WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'];

/** The create request's top-level keys (OAS, `additionalProperties: false`); `stream` and `webhook_completed` are deprecated but accepted. */
const REQUEST_PROPERTIES: Record<string, PropertySchema> = {
  version: { type: 'string' },
  input: { type: 'object' },
  webhook: { type: 'string' },
  webhook_events_filter: { type: 'array', items: { type: 'string', enum: WEBHOOK_EVENTS } },
  stream: { type: 'boolean' },
  webhook_completed: { type: 'string' },
};

/**
 * The invalid_fields of a create body: `POST /v1/predictions` (which needs `version`) or
 * `POST /v1/models/{owner}/{name}/predictions` (where `version` is not a property). Field `""` is the body.
 */
export function validateCreateBody(body: unknown, route: 'predictions' | 'model_predictions'): InvalidField[] {
  if (jsonTypeName(body) !== 'object') {
    return [{ type: 'invalid_type', field: '', description: `Invalid type. Expected: object, given: ${jsonTypeName(body)}` }];
  }
  const request = body as Json;
  const properties = Object.fromEntries(Object.entries(REQUEST_PROPERTIES).filter(([key]) => route === 'predictions' || key !== 'version'));
  const required = route === 'predictions' ? ['version', 'input'] : ['input'];
  const fields: InvalidField[] = required
    .filter((key) => !(key in request))
    .map((key) => ({ type: 'required', field: '', description: `${key} is required` }));
  for (const key of Object.keys(request)) {
    if (!(key in properties)) fields.push({ type: 'additional_property_not_allowed', field: '', description: `Additional property ${key} is not allowed` });
  }
  for (const [key, schema] of Object.entries(properties)) {
    if (!(key in request)) continue;
    const bad = checkValue(key, request[key], schema);
    if (bad) fields.push(bad);
  }
  return fields;
}
