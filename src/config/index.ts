export { ConfigFields, MAX_BLOCKS, MAX_SIZE } from './config-fields.js';
export { readJsonObject, readConfigText } from './json-file.js';
export { showJson } from './json-file.js';
