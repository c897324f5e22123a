// A model version's inputs as the form shows them, read from its Cog schema (replicate-api.md §11): the
// properties of `components.schemas.Input` in `x-order`, enums through `allOf: [{$ref}]` to a component.
// Also compiled under Node's types for its tests, so it touches no DOM and imports nothing from api.ts (which
// does); api.ts takes the schema types from here.

export type Scalar = string | number | boolean;

export interface JsonSchema {
  readonly type?: string;
  readonly format?: string;
  readonly title?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: unknown[];
  readonly items?: JsonSchema;
  readonly allOf?: readonly { readonly $ref: string }[];
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly 'x-order'?: number;
}

export interface CogSchema {
  readonly components: { readonly schemas: Record<string, JsonSchema> };
}

/** How an input is edited; `texts`, `numbers` and `images` are lists of those. */
export type FieldKind = 'text' | 'integer' | 'number' | 'boolean' | 'enum' | 'image' | 'texts' | 'numbers' | 'images';

export interface Field {
  /** The input's key. */
  readonly name: string;
  /** Its `title`; an enum has none, so pydantic's title of its key. */
  readonly label: string;
  readonly description?: string;
  readonly kind: FieldKind;
  /** An enum's values, typed as the input takes them (the sizes are integers). */
  readonly choices?: readonly Scalar[];
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly required: boolean;
}

/** pydantic's title of a key: `output_format` → "Output Format". */
export function titleOf(name: string): string {
  return name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
}

/** The inputs of a version in `x-order` (properties without one last, in the schema's order). */
export function inputFields(schema: CogSchema): Field[] {
  const input = schema.components.schemas.Input;
  const order = (p: JsonSchema) => p['x-order'] ?? Number.POSITIVE_INFINITY;
  return Object.entries(input?.properties ?? {})
    .sort(([, a], [, b]) => order(a) - order(b))
    .map(([name, p]) => field(schema, name, p, input?.required?.includes(name) ?? false));
}

/** The input a form starts from: every default of the schema. */
export function defaultInput(schema: CogSchema): Record<string, unknown> {
  return Object.fromEntries(inputFields(schema).filter((f) => f.default !== undefined).map((f) => [f.name, f.default]));
}

function field(schema: CogSchema, name: string, p: JsonSchema, required: boolean): Field {
  const common = {
    name,
    required,
    ...(p.description === undefined ? {} : { description: p.description }),
    ...(p.default === undefined ? {} : { default: p.default }),
    ...(p.minimum === undefined ? {} : { minimum: p.minimum }),
    ...(p.maximum === undefined ? {} : { maximum: p.maximum }),
  };
  const label = p.title ?? titleOf(name);
  const ref = p.allOf?.[0]?.$ref;
  const choices = ref ? schema.components.schemas[ref.replace('#/components/schemas/', '')]?.enum : p.enum;
  if (choices) return { ...common, label, kind: 'enum', choices: choices as Scalar[] };
  return { ...common, label, kind: p.type === 'array' ? listKind(p.items ?? {}) : scalarKind(p) };
}

function scalarKind(p: JsonSchema): FieldKind {
  if (p.type === 'string' && p.format === 'uri') return 'image';
  if (p.type === 'integer' || p.type === 'number' || p.type === 'boolean') return p.type;
  return 'text';
}

const LIST_KINDS: Partial<Record<FieldKind, FieldKind>> = { text: 'texts', integer: 'numbers', number: 'numbers', image: 'images' };

function listKind(items: JsonSchema): FieldKind {
  return LIST_KINDS[scalarKind(items)] ?? 'texts';
}
