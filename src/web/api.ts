// The playground's client of the public API (replicate-api.md): the same endpoints, bodies and errors the
// official clients use, and nothing else.

import type { CogSchema } from './form/schema.js';

export type PredictionStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';

export const TERMINAL: readonly PredictionStatus[] = ['succeeded', 'failed', 'canceled'];

export interface Prediction {
  readonly id: string;
  readonly model: string;
  readonly version: string;
  readonly input: Record<string, unknown>;
  readonly logs: string;
  /** A list of URIs for image models, one URI for the prior; data: URIs from create/get over plain HTTP. */
  readonly output: string[] | string | null;
  readonly data_removed: boolean;
  readonly error: string | null;
  readonly status: PredictionStatus;
  readonly created_at: string;
  readonly started_at?: string;
  readonly completed_at?: string;
  readonly metrics?: { readonly predict_time?: number; readonly total_time?: number };
  readonly urls: { readonly get: string; readonly cancel: string; readonly stream: string };
}

export interface Page<T> {
  readonly next: string | null;
  readonly previous: string | null;
  readonly results: T[];
}

export interface ModelVersion {
  readonly id: string;
  readonly created_at: string;
  readonly openapi_schema: CogSchema;
}

export interface Model {
  readonly owner: string;
  readonly name: string;
  readonly description: string | null;
  readonly latest_version: ModelVersion | null;
}

export interface UploadedFile {
  readonly id: string;
  readonly name: string;
  readonly content_type: string;
  readonly size: number;
  readonly urls: { readonly get: string };
}

/** One entry of a 422's `invalid_fields` (§5.1): `field` is `""`, `"input"` or `"input.<key>"`. */
export interface InvalidField {
  readonly type: string;
  readonly field: string;
  readonly description: string;
}

/** A refusal: the status and the API's problem body (§5). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly invalidFields: readonly InvalidField[] = [],
  ) {
    super(detail);
  }
}

/** What a failure says, for the page: an Error's message (an ApiError's is the problem's detail). */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export const modelId = (m: Pick<Model, 'owner' | 'name'>): string => `${m.owner}/${m.name}`;

export class Api {
  /** `base` is the server's origin ('' for the page's own). */
  constructor(
    readonly token: string,
    readonly base = '',
  ) {}

  get apiUrl(): string {
    return `${this.base || location.origin}/v1`;
  }

  async account(): Promise<{ username: string; name: string }> {
    return this.json('/account');
  }

  /** Every model the server offers, following the pages. */
  async models(): Promise<Model[]> {
    const all: Model[] = [];
    for (let url: string | null = '/models'; url; ) {
      const page: Page<Model> = await this.json(url);
      all.push(...page.results);
      url = page.next;
    }
    return all;
  }

  /** Created by version, as the seeds do (`POST /v1/predictions`). */
  async create(version: string, input: Record<string, unknown>): Promise<Prediction> {
    return this.json('/predictions', { method: 'POST', body: JSON.stringify({ version, input }) });
  }

  async get(id: string): Promise<Prediction> {
    return this.json(`/predictions/${encodeURIComponent(id)}`);
  }

  async cancel(p: Prediction): Promise<Prediction> {
    return this.json(p.urls.cancel, { method: 'POST' });
  }

  /** A page of this token's predictions, newest first; `url` is a page's `next` or `previous`. */
  async predictions(url = '/predictions'): Promise<Page<Prediction>> {
    return this.json(url);
  }

  /** An image input, uploaded through the files API: the input is then its `urls.get`. */
  async upload(blob: Blob, name: string): Promise<UploadedFile> {
    const form = new FormData();
    form.append('content', blob, name);
    form.append('metadata', new Blob(['{}'], { type: 'application/json' }));
    return this.json('/files', { method: 'POST', body: form });
  }

  /** An uploaded file's bytes (for a preview when a prediction is opened again); its URL is `urls.get`. */
  async download(fileUrl: string): Promise<Blob> {
    const response = await this.fetch(`${fileUrl}/download`);
    return response.blob();
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.fetch(path, init);
    return (await response.json()) as T;
  }

  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.apiUrl}${path}`;
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.token}`);
    if (typeof init.body === 'string') headers.set('content-type', 'application/json');
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers });
    } catch (err) {
      throw new ApiError(0, `The server cannot be reached (${(err as Error).message})`);
    }
    if (!response.ok) throw await problemOf(response);
    return response;
  }
}

async function problemOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: unknown; invalid_fields?: InvalidField[] };
    const detail = typeof body.detail === 'string' ? body.detail : text;
    return new ApiError(response.status, detail.trim(), body.invalid_fields ?? []);
  } catch {
    return new ApiError(response.status, text.trim() || `${response.status} ${response.statusText}`);
  }
}
