export { ConfigFields } from './config-fields.js';
export { readJsonObject, readConfigText } from './json-file.js';
