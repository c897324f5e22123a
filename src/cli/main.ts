#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { KandinskyError } from '../errors.js';
import { registerBench } from './bench.js';
import { registerConformance } from './conformance.js';
import { registerInfo } from './info.js';
import { registerPull } from './pull.js';

const program = new Command();
program
  .name('kandinsky')
  .description('Kandinsky 2.2 text-to-image on onnxruntime, no Python')
  .version((JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version)
  .showHelpAfterError();
registerConformance(program);
registerPull(program);
registerBench(program);
registerInfo(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  // Errors we raise on purpose carry a message meant for the user; anything else is a bug worth a stack.
  if (err instanceof KandinskyError) console.error(`kandinsky: ${err.message}`);
  else console.error(err);
  process.exitCode = 1;
});
