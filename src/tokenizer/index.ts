export { CLIPTokenizer, type EncodeOptions, type EncodedTexts, type Padding } from './clip-tokenizer.js';
