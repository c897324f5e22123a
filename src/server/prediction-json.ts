import type { PredictionRecord, Store } from './types.js';

// The prediction object of replicate-api.md §6, made from a stored record.

/** Where the URLs point: the API's public origin (no trailing slash, no `/v1`). */
export interface UrlBase {
  readonly publicUrl: string;
}

/**
 * `url`: output file URLs (list pages, webhooks, and everywhere with an https public URL); `data`: data URIs
 * (create and get over plain HTTP, since the clients wrap only https: and data: strings as files, §12).
 */
export type OutputForm = 'url' | 'data';

export function predictionUrls(p: Pick<PredictionRecord, 'id' | 'secret'>, base: UrlBase): Record<string, string> {
  const get = `${base.publicUrl}/v1/predictions/${p.id}`;
  return { get, cancel: `${get}/cancel`, stream: streamUrl(p, base) };
}

/** Under `/v1/files/` so that the JS client's stream() wraps outputs as files; told from the Files API by `Accept`. */
export function streamUrl(p: Pick<PredictionRecord, 'id' | 'secret'>, base: UrlBase): string {
  return `${base.publicUrl}/v1/files/${p.id}.${p.secret}`;
}

export function outputFileUrl(p: Pick<PredictionRecord, 'id' | 'secret'>, name: string, base: UrlBase): string {
  return `${base.publicUrl}/v1/outputs/${p.id}/${p.secret}/${name}`;
}

/** The JSON object (as a plain object in the wire's key order) with file URLs as outputs. */
export function predictionJson(p: PredictionRecord, base: UrlBase, output: readonly string[] | null = outputUrls(p, base)): Record<string, unknown> {
  const terminal = p.completedAt !== null;
  return {
    id: p.id,
    model: p.model,
    version: p.version,
    input: p.input,
    logs: p.logs,
    output,
    data_removed: p.dataRemoved,
    error: p.error,
    status: p.status,
    source: 'api',
    created_at: p.createdAt,
    ...(p.startedAt ? { started_at: p.startedAt } : {}),
    ...(terminal ? { completed_at: p.completedAt, metrics: metrics(p) } : {}),
    urls: predictionUrls(p, base),
    ...(p.webhook ? { webhook: p.webhook, webhook_events_filter: p.webhookEventsFilter } : {}),
    ...(p.stream ? { stream: true } : {}),
  };
}

/** The same, with outputs in the form asked for; data URIs read the stored bytes. */
export async function predictionJsonWith(p: PredictionRecord, base: UrlBase, form: OutputForm, store: Store): Promise<Record<string, unknown>> {
  if (form === 'url' || !p.output) return predictionJson(p, base);
  const uris: string[] = [];
  for (const f of p.output) {
    const bytes = await store.readOutput(p.id, f.name);
    uris.push(bytes ? `data:${f.contentType};base64,${Buffer.from(bytes).toString('base64')}` : outputFileUrl(p, f.name, base));
  }
  return predictionJson(p, base, uris);
}

function outputUrls(p: PredictionRecord, base: UrlBase): string[] | null {
  return p.output ? p.output.map((f) => outputFileUrl(p, f.name, base)) : null;
}

/** Seconds from one stored timestamp to another, to the microsecond. */
function secondsBetween(from: string, to: string): number {
  return (micros(to) - micros(from)) / 1e6;
}

function micros(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(.*)$/.exec(t);
  if (!m) return Date.parse(t) * 1000;
  return Date.parse(`${m[1]}${m[3]}`) * 1000 + Number((m[2] ?? '').padEnd(6, '0'));
}

function metrics(p: PredictionRecord): Record<string, number> {
  const total = secondsBetween(p.createdAt, p.completedAt!);
  return p.startedAt ? { predict_time: secondsBetween(p.startedAt, p.completedAt!), total_time: total } : { total_time: total };
}
