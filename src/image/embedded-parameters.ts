import { buildExif, readExif } from './exif.js';
import { findExif } from './exif-container.js';
import { infotext, parseGenerationParameters, type GenerationParameters } from './generation-parameters.js';
import { readImageBytes } from './image-file.js';
import { readPngChunks } from './png-chunks.js';
import { pngITxtChunk, pngTextChunk, readPngTexts } from './png-text.js';

/**
 * Where the parameters live in each format. PNG: AUTOMATIC1111's tEXt `parameters` (what A1111's PNG
 * Info, Civitai and ComfyUI read) and the JSON in an iTXt `kandinsky`. JPEG and WebP: the same text in
 * EXIF UserComment (where A1111 puts it) and the JSON in MakerNote, the tag EXIF leaves to the writer's
 * own data, after a signature that tells it from a camera's.
 */
const INFOTEXT_KEYWORD = 'parameters';
const JSON_KEYWORD = 'kandinsky';
const MAKER_NOTE_SIGNATURE = Buffer.from('kandinsky\0', 'latin1');

/** What a file carries: the A1111 text (ours or another tool's) and our JSON. */
export interface EmbeddedParameters {
  readonly infotext?: string;
  readonly parameters?: GenerationParameters;
}

export function pngParameterChunks(p: GenerationParameters): Uint8Array[] {
  return [pngTextChunk(INFOTEXT_KEYWORD, infotext(p)), pngITxtChunk(JSON_KEYWORD, JSON.stringify(p))];
}

/** The TIFF block for a JPEG's or WebP's EXIF. */
export function exifParameters(p: GenerationParameters): Uint8Array {
  const makerNote = Buffer.concat([MAKER_NOTE_SIGNATURE, Buffer.from(JSON.stringify(p), 'utf8')]);
  return buildExif({ software: p.software, userComment: infotext(p), makerNote });
}

/** The parameters a PNG, JPEG or WebP file carries; refuses files that are not one of those. */
export function readEmbeddedParameters(path: string): EmbeddedParameters {
  const { bytes, format } = readImageBytes(path);
  if (format === 'png') {
    const texts = readPngTexts(readPngChunks(bytes, path).texts, path);
    const json = texts.get(JSON_KEYWORD);
    return {
      infotext: texts.get(INFOTEXT_KEYWORD),
      parameters: json === undefined ? undefined : parseGenerationParameters(json, `${path} (PNG chunk "${JSON_KEYWORD}")`),
    };
  }
  const tiff = findExif(bytes, format, path);
  if (!tiff) return {};
  const { userComment, makerNote } = readExif(tiff, path);
  const ours = makerNote && Buffer.from(makerNote).subarray(0, MAKER_NOTE_SIGNATURE.length).equals(MAKER_NOTE_SIGNATURE);
  return {
    infotext: userComment,
    parameters: ours
      ? parseGenerationParameters(Buffer.from(makerNote.subarray(MAKER_NOTE_SIGNATURE.length)).toString('utf8'), `${path} (EXIF MakerNote)`)
      : undefined,
  };
}

/** Our JSON parameters from an image we wrote; undefined when the image carries none. */
export function readGenerationParameters(path: string): GenerationParameters | undefined {
  return readEmbeddedParameters(path).parameters;
}
