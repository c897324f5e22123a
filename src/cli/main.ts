#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, InputError, KandinskyError } from '../errors.js';
import { registerBench } from './bench.js';
import { registerConformance } from './conformance.js';
import { registerDepth } from './depth.js';
import { registerGenerate } from './generate.js';
import { registerInfo } from './info.js';
import { registerPrior } from './prior.js';
import { registerPull } from './pull.js';
import { registerServe } from './serve.js';
import { registerWorker } from './worker.js';

const program = new Command();
program
  .name('kandinsky')
  .description('Kandinsky 2.2 text-to-image on onnxruntime, no Python')
  .version((JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version)
  // Commander prints its usage errors, then throws them instead of exiting, so that they exit with 2 below.
  // Set before the commands are added: they inherit it.
  .exitOverride();
registerGenerate(program);
registerPrior(program);
registerDepth(program);
registerConformance(program);
registerPull(program);
registerBench(program);
registerInfo(program);
registerServe(program);
registerWorker(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = exitCode(err);
  if (err instanceof CommanderError) return; // Printed already (or it is --help / --version).
  // Errors we raise on purpose carry a message meant for the user; anything else is a bug worth a stack.
  if (err instanceof KandinskyError) console.error(`kandinsky: ${err.message}`);
  else console.error(err);
});

/** 2: the command line or the input it names is wrong (a flag, a manifest, a repo id); 1: the work failed, or a bug. */
function exitCode(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  return err instanceof ConfigError || err instanceof InputError ? 2 : 1;
}
