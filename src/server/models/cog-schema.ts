// The Cog OpenAPI document of a model version, built as Cog 0.8 (pydantic v1) builds it from `predict()`'s
// `Input(...)` parameters (replicate-api.md §11), and the version id our own models derive from it.
import { createHash } from 'node:crypto';

type Scalar = string | number | boolean;

/** One `predict()` parameter, as its `Input(...)` declares it. */
export interface CogInput {
  readonly name: string;
  /** `path` is Cog's `Path` (a URI on the wire); `list` makes it `List[...]`. */
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'path';
  readonly list?: boolean;
  readonly description: string;
  /** Absent: `default=None` (optional, no `default` key); with `required`, no default at all. */
  readonly default?: Scalar;
  readonly required?: boolean;
  /** `ge` and `le`. */
  readonly minimum?: number;
  readonly maximum?: number;
  /** `choices`: an enum component named after the parameter. */
  readonly choices?: readonly Scalar[];
}

/** `-> List[Path]` (images) or `-> Path` (one file). */
export type CogOutput = 'list' | 'file';

type Json = Record<string, unknown>;

/** The whole Cog document: `paths` and the boilerplate components are Cog's own, the same for every model. */
export function buildCogSchema(inputs: readonly CogInput[], output: CogOutput): Json {
  const enums = Object.fromEntries(inputs.filter((i) => i.choices).map((i) => [i.name, enumComponent(i)]));
  const required = inputs.filter((i) => i.required).map((i) => i.name);
  const input: Json = {
    type: 'object',
    title: 'Input',
    properties: Object.fromEntries(inputs.map((i, order) => [i.name, property(i, order)])),
    ...(required.length > 0 ? { required } : {}),
  };
  return {
    openapi: '3.0.2',
    info: { title: 'Cog', version: '0.1.0' },
    paths: structuredClone(COG_PATHS),
    components: {
      schemas: {
        Input: input,
        Output: output === 'list' ? { type: 'array', items: URI, title: 'Output' } : { ...URI, title: 'Output' },
        ...enums,
        ...structuredClone(COG_COMPONENTS),
      },
    },
  };
}

/** Our models' version id: sha256 of the schema's JSON with keys sorted at every level. */
export function schemaVersionId(schema: Json): string {
  return createHash('sha256').update(canonicalJson(schema)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const URI = { type: 'string', format: 'uri' } as const;

/** pydantic's title: `num_inference_steps` → "Num Inference Steps". */
function title(name: string): string {
  return name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
}

function property(i: CogInput, order: number): Json {
  const common = { 'x-order': order, description: i.description };
  const fallback = i.default === undefined ? {} : { default: i.default };
  // An enum is referenced through allOf and carries no title of its own.
  if (i.choices) return { allOf: [{ $ref: `#/components/schemas/${i.name}` }], ...fallback, ...common };
  const item = i.type === 'path' ? URI : { type: i.type };
  const shape = i.list ? { type: 'array', items: item } : item;
  return {
    ...shape,
    title: title(i.name),
    ...fallback,
    ...(i.maximum === undefined ? {} : { maximum: i.maximum }),
    ...(i.minimum === undefined ? {} : { minimum: i.minimum }),
    ...common,
  };
}

function enumComponent(i: CogInput): Json {
  return { enum: i.choices, type: i.type, title: i.name, description: 'An enumeration.' };
}

const RESPONSE_OK = 'Successful Response';
const VALIDATION_ERROR = { content: { 'application/json': { schema: { $ref: '#/components/schemas/HTTPValidationError' } } }, description: 'Validation Error' };
const PREFER = { in: 'header', name: 'prefer', schema: { type: 'string', title: 'Prefer' }, required: false };
const PREDICTION_ID = { in: 'path', name: 'prediction_id', schema: { type: 'string', title: 'Prediction ID' }, required: true };
const PREDICTION_RESPONSE = { content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictionResponse' } } }, description: RESPONSE_OK };

function titled(name: string): Json {
  return { content: { 'application/json': { schema: { title: name } } }, description: RESPONSE_OK };
}

const COG_PATHS = {
  '/': { get: { summary: 'Root', responses: { 200: titled('Response Root  Get') }, operationId: 'root__get' } },
  '/shutdown': {
    post: { summary: 'Start Shutdown', responses: { 200: titled('Response Start Shutdown Shutdown Post') }, operationId: 'start_shutdown_shutdown_post' },
  },
  '/predictions': {
    post: {
      summary: 'Predict',
      responses: { 200: PREDICTION_RESPONSE, 422: VALIDATION_ERROR },
      parameters: [PREFER],
      description: 'Run a single prediction on the model',
      operationId: 'predict_predictions_post',
      requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictionRequest' } } } },
    },
  },
  '/health-check': {
    get: { summary: 'Healthcheck', responses: { 200: titled('Response Healthcheck Health Check Get') }, operationId: 'healthcheck_health_check_get' },
  },
  '/predictions/{prediction_id}': {
    put: {
      summary: 'Predict Idempotent',
      responses: { 200: PREDICTION_RESPONSE, 422: VALIDATION_ERROR },
      parameters: [PREDICTION_ID, PREFER],
      description: 'Run a single prediction on the model (idempotent creation).',
      operationId: 'predict_idempotent_predictions__prediction_id__put',
      requestBody: {
        content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/PredictionRequest' }], title: 'Prediction Request' } } },
        required: true,
      },
    },
  },
  '/predictions/{prediction_id}/cancel': {
    post: {
      summary: 'Cancel',
      responses: { 200: titled('Response Cancel Predictions  Prediction Id  Cancel Post'), 422: VALIDATION_ERROR },
      parameters: [PREDICTION_ID],
      description: 'Cancel a running prediction',
      operationId: 'cancel_predictions__prediction_id__cancel_post',
    },
  },
};

const dateTime = (t: string) => ({ type: 'string', title: t, format: 'date-time' });

const COG_COMPONENTS = {
  Status: { enum: ['starting', 'processing', 'succeeded', 'canceled', 'failed'], type: 'string', title: 'Status', description: 'An enumeration.' },
  WebhookEvent: { enum: ['start', 'output', 'logs', 'completed'], type: 'string', title: 'WebhookEvent', description: 'An enumeration.' },
  ValidationError: {
    type: 'object',
    title: 'ValidationError',
    required: ['loc', 'msg', 'type'],
    properties: {
      loc: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] }, title: 'Location' },
      msg: { type: 'string', title: 'Message' },
      type: { type: 'string', title: 'Error Type' },
    },
  },
  PredictionRequest: {
    type: 'object',
    title: 'PredictionRequest',
    properties: {
      id: { type: 'string', title: 'Id' },
      input: { $ref: '#/components/schemas/Input' },
      webhook: { type: 'string', title: 'Webhook', format: 'uri', maxLength: 65536, minLength: 1 },
      created_at: dateTime('Created At'),
      output_file_prefix: { type: 'string', title: 'Output File Prefix' },
      webhook_events_filter: { type: 'array', items: { $ref: '#/components/schemas/WebhookEvent' }, default: ['start', 'output', 'logs', 'completed'] },
    },
  },
  PredictionResponse: {
    type: 'object',
    title: 'PredictionResponse',
    properties: {
      id: { type: 'string', title: 'Id' },
      logs: { type: 'string', title: 'Logs', default: '' },
      error: { type: 'string', title: 'Error' },
      input: { $ref: '#/components/schemas/Input' },
      output: { $ref: '#/components/schemas/Output' },
      status: { $ref: '#/components/schemas/Status' },
      metrics: { type: 'object', title: 'Metrics' },
      version: { type: 'string', title: 'Version' },
      created_at: dateTime('Created At'),
      started_at: dateTime('Started At'),
      completed_at: dateTime('Completed At'),
    },
  },
  HTTPValidationError: {
    type: 'object',
    title: 'HTTPValidationError',
    properties: { detail: { type: 'array', items: { $ref: '#/components/schemas/ValidationError' }, title: 'Detail' } },
  },
};
