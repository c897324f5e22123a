import { join } from 'node:path';
import { readJsonObject } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { DDIMScheduler } from './ddim-scheduler.js';
import { DDPMScheduler } from './ddpm-scheduler.js';
import { DPMSolverMultistepScheduler } from './dpm-solver-multistep-scheduler.js';
import type { Scheduler } from './scheduler.js';
import { UnCLIPScheduler } from './unclip-scheduler.js';

/**
 * diffusers' `from_config` by class name. As there, keys starting with "_" and keys the class does not know are
 * ignored and missing keys take the class defaults, so one class can be built from another's config (the
 * decoder's DDPM JSON makes a DDIM or DPM-Solver++ scheduler).
 */
export const SCHEDULER_CLASSES: Readonly<Record<string, (json: Record<string, unknown>, source: string) => Scheduler>> = {
  UnCLIPScheduler: UnCLIPScheduler.fromConfig,
  DDPMScheduler: DDPMScheduler.fromConfig,
  DDIMScheduler: DDIMScheduler.fromConfig,
  DPMSolverMultistepScheduler: DPMSolverMultistepScheduler.fromConfig,
};

/** `source` names the config in errors (a file path, a case). */
export function schedulerFromConfig(className: string, json: Record<string, unknown>, source: string): Scheduler {
  const build = Object.hasOwn(SCHEDULER_CLASSES, className) ? SCHEDULER_CLASSES[className] : undefined;
  if (!build) {
    throw new ConfigError(`${source}: scheduler class ${JSON.stringify(className)} is not supported; supported: ${Object.keys(SCHEDULER_CLASSES).join(', ')}`);
  }
  return build(json, source);
}

/** The scheduler of a pipeline's `scheduler/` folder, as its `_class_name` says or as `className` (another class). */
export function loadScheduler(componentDir: string, className?: string): Scheduler {
  const path = join(componentDir, 'scheduler_config.json');
  const json = readJsonObject(path, 'scheduler_config.json');
  const name = className ?? json._class_name;
  if (typeof name !== 'string') {
    throw new ConfigError(`${path}: field "_class_name" is ${JSON.stringify(name)}, expected a scheduler class name (or pass one)`);
  }
  return schedulerFromConfig(name, json, path);
}
