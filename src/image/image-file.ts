import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { describeContent, sniffImageFormat, type ImageFormat } from './image-format.js';

/** A file's bytes and its format by magic bytes; anything but PNG, JPEG or WebP is refused, naming what it is. */
export function readImageBytes(path: string): { bytes: Buffer; format: ImageFormat } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read image (${(err as Error).message})`);
  }
  const format = sniffImageFormat(bytes);
  if (!format) throw new InputError(`${path}: not a PNG, JPEG or WebP image (found ${describeContent(bytes)})`);
  return { bytes, format };
}
