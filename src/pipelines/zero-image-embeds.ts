import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../files/index.js';
import { dirname, join } from 'node:path';
import type { CLIPVisionModelWithProjection } from '../nets/index.js';
import { defaultModelCacheDir } from '../onnx/index.js';
import type { Held } from './components.js';
import { tensor, type Float32Tensor } from '../tensor/index.js';
import { loadCheckpoint } from '../weights/index.js';

// The prior pairs a prompt without a negative prompt with the CLIP embedding of an all-zero pixel tensor
// (a mean-grey image, doc §4.1 step 9). It depends on the image encoder's weights only, so it is computed
// once and kept on disk: text-to-image never loads the 1.8-billion-parameter vision tower again.

/** The cache file for one image encoder: keyed by its config and the identity of its weight files. */
function cachePath(encoderDir: string, variant: string | undefined): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(encoderDir, 'config.json')));
  const files = new Set([...loadCheckpoint(encoderDir, { variant }).tensors.values()].map((t) => t.file));
  for (const file of [...files].sort()) {
    const st = statSync(file);
    h.update(`\0${file}:${st.size}:${st.mtimeMs}:${st.ino}`);
  }
  return join(dirname(defaultModelCacheDir()), 'zero-image-embeds', `${h.digest('hex').slice(0, 32)}.f32`);
}

/** `get_zero_embed`: image_encoder(zeros[1, 3, S, S]).image_embeds, [1, projection_dim]. */
export async function zeroImageEmbed(
  encoderDir: string,
  variant: string | undefined,
  encoder: Held<CLIPVisionModelWithProjection>,
): Promise<Float32Tensor> {
  const path = cachePath(encoderDir, variant);
  try {
    const bytes = readFileSync(path);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return tensor(values, [1, values.length]);
  } catch {
    // Not cached yet (or unreadable): compute it.
  }
  const embed = await encoder.use((net) => {
    const { imageSize, numChannels } = net.config;
    return net.forward(tensor(new Float32Array(numChannels * imageSize * imageSize), [1, numChannels, imageSize, imageSize]));
  });
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, new Uint8Array(embed.data.buffer, embed.data.byteOffset, embed.data.byteLength));
  } catch {
    // A read-only cache only costs the vision tower next time.
  }
  return embed;
}
