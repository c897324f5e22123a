// Parsers of flag values. A value they refuse is a usage error: commander prints it on one line naming the flag,
// and main.ts exits with 2.
import { InvalidArgumentError } from 'commander';
import { KandinskyError } from '../errors.js';
import { checkDevice, type Device } from '../onnx/index.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected 0 or a positive integer');
  return n;
}

/** An origin such as https://k.example (no path): where clients reach the API. */
export function origin(value: string): string {
  if (!/^https?:\/\/[^/]+\/?$/.test(value)) throw new InvalidArgumentError('expected an origin such as https://k.example');
  return value;
}

/** An image side in pixels: the networks downsample by 8 and the UNet by 8 more. */
export function pixelSize(value: string): number {
  const n = positiveInt(value);
  if (n % 64 !== 0) throw new InvalidArgumentError('expected a multiple of 64');
  return n;
}

export function regExp(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(`expected a regular expression (${(err as Error).message})`);
  }
}

export function device(value: string): Device {
  try {
    return checkDevice(value);
  } catch (err) {
    if (err instanceof KandinskyError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}
