import type { Problem } from './problem.js';
import type { InvalidField } from './types.js';

// The served models as the HTTP layer sees them; made from the model catalogue (src/server/models).

export interface ServedModel {
  /** `owner/name`. */
  readonly id: string;
  readonly owner: string;
  readonly name: string;
  readonly latestVersionId: string;
}

export interface Catalogue {
  models(): readonly ServedModel[];
  model(owner: string, name: string): ServedModel | undefined;
  /** A create body's `version`: a bare id, `owner/name:id` or `owner/name` (the latest), §7. */
  resolveVersion(ref: string): { readonly model: ServedModel; readonly versionId: string } | undefined;
  /** `GET /v1/models/{owner}/{name}` (§11). */
  modelJson(model: ServedModel, publicUrl: string): Record<string, unknown>;
  /** The versions' wire objects, newest first. */
  versionsJson(model: ServedModel): readonly Record<string, unknown>[];
  validateCreateBody(body: unknown, route: 'predictions' | 'model_predictions'): InvalidField[];
  /** The input against the version's schema, image inputs decoded (a bad image is a 422 on its field). */
  validateInput(model: ServedModel, versionId: string, input: unknown, account: string): Promise<InvalidField[]>;
}

export declare function validationProblem(fields: readonly InvalidField[]): Problem;
