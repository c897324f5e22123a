/** The file formats kandinsky reads and writes. */
export type ImageFormat = 'png' | 'jpeg' | 'webp';

type Magic<T> = readonly [T, (bytes: Uint8Array) => boolean][];

const FORMATS: Magic<ImageFormat> = [
  ['png', (b) => matches(b, 0, '\x89PNG\r\n\x1a\n')],
  ['jpeg', (b) => matches(b, 0, '\xff\xd8\xff')],
  ['webp', (b) => matches(b, 0, 'RIFF') && matches(b, 8, 'WEBP')],
];

/** Formats people hand in by mistake, named in the refusal. */
const OTHERS: Magic<string> = [
  ['a GIF image', (b) => matches(b, 0, 'GIF8')],
  ['a BMP image', (b) => matches(b, 0, 'BM')],
  ['a TIFF image', (b) => matches(b, 0, 'II*\0') || matches(b, 0, 'MM\0*')],
  ['an AVIF/HEIF image', (b) => matches(b, 4, 'ftyp')],
  ['a ZIP archive', (b) => matches(b, 0, 'PK\x03\x04')],
];

/** The format by magic bytes (never by file name). */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  return FORMATS.find(([, test]) => test(bytes))?.[0];
}

/** What a file that is not PNG, JPEG or WebP looks like instead, for error messages. */
export function describeContent(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const known = OTHERS.find(([, test]) => test(bytes));
  if (known) return known[0];
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `bytes ${head}`;
}

function matches(bytes: Uint8Array, at: number, magic: string): boolean {
  if (bytes.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic.charCodeAt(i)) return false;
  return true;
}
