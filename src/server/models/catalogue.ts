// The models this server offers: every definition whose repos are present, and their wire objects
// (replicate-api.md §11).
import { HOSTED_MODEL } from './hosted-model.js';
import { MODE_MODELS } from './mode-models.js';
import type { ModelDefinition, VersionDefinition } from './model-definition.js';

/** Where a Hugging Face repo lives here (the --models folder or the hub cache), or undefined when absent. */
export type ModelDirResolver = (repoId: string) => string | undefined;

/** A model this server can run: its definition and the folders of its repos. */
export interface ServedModel {
  readonly definition: ModelDefinition;
  readonly dirs: Readonly<Record<string, string>>;
}

export const MODEL_DEFINITIONS: readonly ModelDefinition[] = [HOSTED_MODEL, ...MODE_MODELS];

export class Catalogue {
  readonly models: readonly ServedModel[];

  constructor(modelDir: ModelDirResolver, definitions: readonly ModelDefinition[] = MODEL_DEFINITIONS) {
    this.models = definitions.flatMap((definition) => {
      const found = definition.repos.map((repo) => [repo, modelDir(repo)] as const);
      if (found.some(([, dir]) => dir === undefined)) return [];
      const optional = (definition.optionalRepos ?? []).map((repo) => [repo, modelDir(repo)] as const).filter(([, dir]) => dir !== undefined);
      return [{ definition, dirs: Object.fromEntries([...found, ...optional]) as Record<string, string> }];
    });
  }

  /** `owner/name`, or undefined when this server does not offer it. */
  model(owner: string, name: string): ServedModel | undefined {
    return this.models.find((m) => m.definition.owner === owner && m.definition.name === name);
  }

  /** A version of a model; undefined for an unknown id or one of another model. */
  version(model: ServedModel, versionId: string): VersionDefinition | undefined {
    return model.definition.versions.find((v) => v.id === versionId);
  }

  /**
   * What a create request's `version` names: a bare 64-hex id (of any served model), `owner/name:id`, or
   * `owner/name` (its latest version).
   */
  resolveVersion(ref: string): { model: ServedModel; version: VersionDefinition } | undefined {
    const match = /^([^/:]+)\/([^/:]+)(?::(.+))?$/.exec(ref);
    if (match) {
      const model = this.model(match[1], match[2]);
      const version = model && (match[3] === undefined ? model.definition.versions[0] : this.version(model, match[3]));
      return model && version ? { model, version } : undefined;
    }
    for (const model of this.models) {
      const version = this.version(model, ref);
      if (version) return { model, version };
    }
    return undefined;
  }
}

/** `GET /v1/models/{owner}/{name}/versions/{id}` (and each entry of the versions list). */
export function versionJson(v: VersionDefinition): Record<string, unknown> {
  return { id: v.id, created_at: v.createdAt, cog_version: v.cogVersion, openapi_schema: v.openapiSchema };
}

/** `GET /v1/models/{owner}/{name}` (and each entry of `GET /v1/models`); `publicUrl` is this server's origin. */
export function modelJson(m: ServedModel, publicUrl: string): Record<string, unknown> {
  const d = m.definition;
  return {
    url: `${publicUrl.replace(/\/+$/, '')}/${d.owner}/${d.name}`,
    owner: d.owner,
    name: d.name,
    description: d.description,
    visibility: 'public',
    is_official: false,
    github_url: d.githubUrl,
    paper_url: null,
    license_url: null,
    run_count: 0,
    cover_image_url: null,
    default_example: null,
    latest_version: versionJson(d.versions[0]),
  };
}
