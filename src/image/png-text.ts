import { inflateSync } from 'node:zlib';
import { InputError } from '../errors.js';
import { pngChunk, type PngTextChunk } from './png-chunks.js';

/** Pillow's MAX_TEXT_CHUNK: a compressed text chunk may not inflate past this (a zip bomb otherwise). */
const MAX_TEXT_BYTES = 1 << 20;

const LATIN1_WITHOUT_NUL = /^[\x01-\xff]*$/;

/**
 * A text chunk as Pillow's `PngInfo.add_text` writes it (and so AUTOMATIC1111's `parameters`): an
 * uncompressed tEXt when the text is Latin-1, an uncompressed UTF-8 iTXt otherwise.
 */
export function pngTextChunk(keyword: string, text: string): Uint8Array {
  if (LATIN1_WITHOUT_NUL.test(text)) {
    return pngChunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0), Buffer.from(text, 'latin1')]));
  }
  return pngITxtChunk(keyword, text);
}

/** An uncompressed iTXt chunk with no language tag: UTF-8 text under a Latin-1 keyword. */
export function pngITxtChunk(keyword: string, text: string): Uint8Array {
  // keyword NUL, compression flag 0, compression method 0, language tag "" NUL, translated keyword "" NUL
  return pngChunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.of(0, 0, 0, 0, 0), Buffer.from(text, 'utf8')]));
}

/** Puts `chunks` right after IHDR (where Pillow puts text chunks: before the image data). */
export function insertPngChunks(png: Uint8Array, chunks: readonly Uint8Array[]): Buffer {
  const afterIhdr = 8 + 12 + 13;
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
}

/** The keyword -> text pairs of a file's text chunks, decoded as Pillow decodes them; malformed chunks are skipped. */
export function readPngTexts(chunks: readonly PngTextChunk[], source: string): Map<string, string> {
  const texts = new Map<string, string>();
  for (const { type, payload } of chunks) {
    const nul = payload.indexOf(0);
    if (nul < 1) continue;
    const keyword = Buffer.from(payload.subarray(0, nul)).toString('latin1');
    const rest = payload.subarray(nul + 1);
    if (type === 'tEXt') {
      texts.set(keyword, Buffer.from(rest).toString('latin1'));
    } else if (type === 'zTXt') {
      texts.set(keyword, inflateText(rest.subarray(1), keyword, source).toString('latin1'));
    } else {
      const [compressed] = rest;
      const language = rest.indexOf(0, 2);
      const translated = language < 0 ? -1 : rest.indexOf(0, language + 1);
      if (translated < 0) continue;
      const body = rest.subarray(translated + 1);
      texts.set(keyword, (compressed ? inflateText(body, keyword, source) : Buffer.from(body)).toString('utf8'));
    }
  }
  return texts;
}

function inflateText(bytes: Uint8Array, keyword: string, source: string): Buffer {
  try {
    return inflateSync(bytes, { maxOutputLength: MAX_TEXT_BYTES });
  } catch (err) {
    throw new InputError(`${source}: PNG text chunk ${JSON.stringify(keyword)} does not inflate to at most ${MAX_TEXT_BYTES} bytes (${(err as Error).message})`);
  }
}
