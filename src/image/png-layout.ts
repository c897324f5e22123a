import { InputError } from '../errors.js';
import type { ImageMode } from './image.js';

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlaced: boolean;
}

/**
 * How Pillow's PngImagePlugin (`_MODES`) and its unpackers present one PNG pixel format:
 * 16-bit samples keep their high byte, 2/4-bit greys are stretched to 0..255, 1-bit grey is mode
 * '1' (0/255), and 16-bit grey + alpha becomes RGBA. 16-bit grey alone would be Pillow's 32-bit
 * mode 'I', which this 8-bit image type does not represent.
 */
export interface PngLayout {
  readonly mode: ImageMode;
  /** Samples per pixel in the file. */
  readonly channels: number;
  /** Writes the pixel whose 8-bit samples start at `samples[s]` to `out[o...]`. */
  readonly put: (samples: Uint8Array, s: number, out: Uint8Array, o: number) => void;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const MODES: Record<number, ImageMode> = { 0: 'L', 2: 'RGB', 3: 'P', 4: 'LA', 6: 'RGBA' };

export function parseIhdr(ihdr: Uint8Array, source: string): PngHeader {
  const view = new DataView(ihdr.buffer, ihdr.byteOffset, ihdr.byteLength);
  const header = {
    width: view.getUint32(0),
    height: view.getUint32(4),
    bitDepth: ihdr[8],
    colorType: ihdr[9],
    interlaced: ihdr[12] === 1,
  };
  if (header.width === 0 || header.height === 0) {
    throw new InputError(`${source}: PNG image of size ${header.width}x${header.height} has no pixels`);
  }
  if (!DEPTHS[header.colorType]?.includes(header.bitDepth)) {
    throw new InputError(
      `${source}: unsupported PNG pixel format (bit depth ${header.bitDepth}, colour type ${header.colorType})`,
    );
  }
  if (ihdr[10] !== 0 || ihdr[11] !== 0 || ihdr[12] > 1) {
    throw new InputError(`${source}: unknown PNG compression, filter or interlace method in IHDR`);
  }
  return header;
}

export function pngLayout(header: PngHeader, source: string): PngLayout {
  const { bitDepth, colorType } = header;
  const channels = CHANNELS[colorType];
  if (colorType === 0 && bitDepth === 16) {
    throw new InputError(
      `${source}: 16-bit greyscale PNG (Pillow mode 'I') is not supported; expected 1/2/4/8-bit greyscale`,
    );
  }
  if (colorType === 0 && bitDepth === 1) {
    return { mode: '1', channels, put: (s, i, out, o) => { out[o] = s[i] ? 255 : 0; } };
  }
  if (colorType === 0 && bitDepth < 8) {
    const stretch = bitDepth === 2 ? 0x55 : 0x11;
    return { mode: 'L', channels, put: (s, i, out, o) => { out[o] = s[i] * stretch; } };
  }
  if (colorType === 4 && bitDepth === 16) {
    return {
      mode: 'RGBA',
      channels,
      put: (s, i, out, o) => { out[o] = out[o + 1] = out[o + 2] = s[i]; out[o + 3] = s[i + 1]; },
    };
  }
  return {
    mode: MODES[colorType],
    channels,
    put: (s, i, out, o) => { for (let c = 0; c < channels; c++) out[o + c] = s[i + c]; },
  };
}
