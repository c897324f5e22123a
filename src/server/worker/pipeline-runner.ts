import { InputError } from '../../errors.js';
import { GenerationWorker } from '../../generation/index.js';
import { imageResolver } from '../image-inputs.js';
import { modelDirResolver } from '../model-dirs.js';
import { Catalogue, planRun, renderOutputs, tqdmLines } from '../models/index.js';
import type { CreateRunner } from './runner.js';

/**
 * Predictions run by the pipelines: the catalogue's plan (with this worker's model folders and image inputs)
 * on a generation thread whose sessions stay loaded between predictions within the memory budget.
 */
export const createRunner: CreateRunner = (config, store) => {
  const catalogue = new Catalogue(modelDirResolver(config.modelsDir));
  const engine = new GenerationWorker({ memoryBudget: config.memoryBudget, threads: config.threads, device: config.device });
  return {
    async run(p, { signal, log }) {
      const [owner, name] = p.model.split('/');
      const model = catalogue.model(owner, name);
      if (!model) throw new InputError(`this worker does not serve ${p.model} (its models are not in ${config.modelsDir ?? 'the Hugging Face cache'})`);
      const plan = await planRun(model, p.version, p.input, imageResolver(store, config.publicUrl, p.account));
      log(plan.logPrelude);
      const onStep = (event: Parameters<typeof tqdmLines>[0]) => log(tqdmLines(event).map((l) => `${l}\n`).join(''));
      return renderOutputs(plan.outputs, await engine.generate(plan.request, { signal, onStep }));
    },
    close: () => engine.close(),
  };
};
