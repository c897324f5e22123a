// The catalogue of served models (replicate-api.md §11, §17): their Cog schemas and versions, input
// validation with Replicate's 422 entries, the error bodies, the bridge to the engine, and the log lines.
export { Catalogue, MODEL_DEFINITIONS, modelJson, versionJson, type ModelDirResolver, type ServedModel } from './catalogue.js';
export { buildCogSchema, canonicalJson, schemaVersionId, type CogInput, type CogOutput } from './cog-schema.js';
export {
  validationErrorBody, invalidVersionBody, unauthenticatedBody, notFoundBody, fileNotFoundBody, fileTooLargeBody, malformedJsonBody,
  throttledBody, serverErrorBody, type ErrorBody,
} from './error-bodies.js';
export {
  CONTROLNET_DEPTH_REPO, DECODER_REPO, INPAINT_DECODER_REPO, PRIOR_REPO, type ModelDefinition, type VersionDefinition,
} from './model-definition.js';
export {
  checkInput, planRun, InputValidationError, InvalidVersionError, type CheckedInput, type ImageResolver, type OutputPlan, type RunPlan,
} from './plan-run.js';
export { renderOutputs, type RenderedOutput } from './outputs.js';
export { formatMeter, tqdmLines } from './tqdm.js';
export { validateCreateBody, validateInput } from './validate.js';
