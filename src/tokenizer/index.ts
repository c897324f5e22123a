export { CLIPTokenizer, type EncodeOptions, type EncodedTexts, type Padding } from './clip-tokenizer.js';
export { byteLevelAlphabet, END_OF_WORD } from './bpe.js';
