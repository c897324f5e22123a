export { ConfigFields } from './config-fields.js';
export { readJsonObject, readConfigText } from './json-file.js';
export { showJson } from './json-file.js';
