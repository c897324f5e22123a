// A prediction's output files, named as the model saved them (replicate-api.md §12). Pure: tested under Node.

/** The name of ControlNet-depth's estimated depth map: its last output when `depth_from_image` was given. */
export const DEPTH_MAP = 'depth.png';

export interface OutputFile {
  readonly url: string;
  /** out-0.webp, out.json, depth.png: the URL's last segment, or for a data: URI the name the model gave it. */
  readonly name: string;
  readonly kind: 'image' | 'depth' | 'file';
}

const DATA = /^data:([^;,]*)/;

/** What of a prediction names its outputs (not api.ts's Prediction itself: this module runs under Node, without the DOM). */
export interface PredictionOutputs {
  readonly model: string;
  readonly input: Record<string, unknown>;
  readonly output: readonly string[] | string | null;
}

export function outputFiles(p: PredictionOutputs): OutputFile[] {
  const urls = p.output === null ? [] : Array.isArray(p.output) ? p.output : [p.output];
  const hasDepth = p.model === 'kandinsky/kandinsky-2.2-controlnet-depth' && p.input.depth_from_image !== undefined;
  return urls.map((url, i) => {
    const type = DATA.exec(url)?.[1];
    const name = type === undefined ? nameInUrl(url) : hasDepth && i === urls.length - 1 ? DEPTH_MAP : dataName(type, i);
    const kind = name === DEPTH_MAP && hasDepth ? 'depth' : /\.(webp|png|jpe?g)$/i.test(name) ? 'image' : 'file';
    return { url, name, kind };
  });
}

/** The hosted model's `out-{i}.{output_format}`; the prior's one JSON file is `out.json`. */
function dataName(type: string, index: number): string {
  if (type === 'application/json') return 'out.json';
  return `out-${index}.${type.split('/')[1] || 'bin'}`;
}

function nameInUrl(url: string): string {
  const path = url.split(/[?#]/)[0];
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || 'output';
}

/** The bytes a data: URI holds (base64 or not), without decoding it; null for a URL. */
export function dataUriSize(url: string): number | null {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) return null;
  const body = url.slice(comma + 1);
  if (!/;base64$/i.test(url.slice(0, comma))) return decodeURIComponent(body).length;
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

/** 1.2 KB, 3.4 MB. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
