import { InputError } from '../errors.js';
import { decodeImage } from '../image/index.js';
import type { ImageResolver } from './models/index.js';
import type { Store } from './types.js';

// Image inputs as the clients send them (replicate-api.md §15): data URLs, or URLs of this server's files
// (an upload of the same account, or an earlier prediction's output).

const DATA_URL = /^data:([^,]*?)(;base64)?,(.*)$/s;

export function imageResolver(store: Store, publicUrl: string, account: string): ImageResolver {
  return async (field, uri) => decodeImage(await imageBytes(store, publicUrl, account, uri), `input.${field}`);
}

async function imageBytes(store: Store, publicUrl: string, account: string, uri: string): Promise<Uint8Array> {
  const data = DATA_URL.exec(uri);
  if (data) return data[2] ? Buffer.from(data[3], 'base64') : Buffer.from(decodeURIComponent(data[3]), 'latin1');
  const path = uri.startsWith(`${publicUrl}/`) ? uri.slice(publicUrl.length).replace(/^\/v1\/v1\//, '/v1/') : undefined;
  const upload = path && /^\/v1\/files\/([^/?#]+)$/.exec(path);
  if (upload) {
    const found = await store.getUpload(upload[1]);
    if (found && found.file.account === account) return found.bytes;
    throw new InputError(`no file ${upload[1]} of this account on this server`);
  }
  const output = path && /^\/v1\/outputs\/([^/]+)\/([^/]+)\/([^/?#]+)$/.exec(path);
  if (output) {
    const p = await store.getPrediction(output[1]);
    const bytes = p && p.secret === output[2] ? await store.readOutput(p.id, output[3]) : undefined;
    if (bytes) return bytes;
    throw new InputError('no such output file on this server');
  }
  throw new InputError(`expected a data: URL or the URL of a file on this server (${publicUrl}/v1/files/...), got ${JSON.stringify(uri.slice(0, 80))}`);
}
