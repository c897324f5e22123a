import { encodePng } from '../../image/index.js';
import type { CreateRunner } from '../../server/index.js';

// The stand-in for the pipelines that `kandinsky bench api` gives its worker: every prediction is done at
// once with the same small PNG, so that what is timed is the service (HTTP, store, queue, worker loop).

const SIDE = 8;
const PNG = new Uint8Array(encodePng({ width: SIDE, height: SIDE, mode: 'RGB', data: new Uint8Array(SIDE * SIDE * 3).fill(128) }));

export const createRunner: CreateRunner = () => ({
  run: async () => [{ name: 'out-0.png', contentType: 'image/png', bytes: PNG }],
  close: async () => {},
});
