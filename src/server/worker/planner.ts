import { imageResolver } from '../image-inputs.js';
import { modelDirResolver } from '../model-dirs.js';
import { Catalogue, planRun, renderOutputs, tqdmLines } from '../models/index.js';
import type { PredictionRecord, Store } from '../types.js';
import type { WorkerConfig } from './messages.js';
import type { PlannedRun } from './plan.js';
import { InputError } from '../../errors.js';

/** The catalogue's plan for a claimed prediction, with this worker's model folders and image inputs. */
export function planner(config: WorkerConfig, store: Store): (p: PredictionRecord) => Promise<PlannedRun> {
  const catalogue = new Catalogue(modelDirResolver(config.modelsDir));
  return async (p) => {
    const [owner, name] = p.model.split('/');
    const model = catalogue.model(owner, name);
    if (!model) throw new InputError(`this worker does not serve ${p.model} (its models are not in ${config.modelsDir ?? 'the Hugging Face cache'})`);
    const run = await planRun(model, p.version, p.input, imageResolver(store, config.publicUrl, p.account));
    return {
      request: run.request,
      logPrelude: run.logPrelude,
      logLines: (event) => tqdmLines(event).map((l) => `${l}\n`).join(''),
      encodeOutputs: (result) => renderOutputs(run.outputs, result),
    };
  };
}
