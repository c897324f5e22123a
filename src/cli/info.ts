import type { Command } from 'commander';
import { InputError, KandinskyError } from '../errors.js';
import { readEmbeddedParameters } from '../image/index.js';

/** Exit status when the file is not an image or carries no parameters (1 stays for the tool failing). */
const NO_PARAMETERS = 2;

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the generation parameters embedded in a PNG, JPEG or WebP image')
    .argument('<image>', 'an image written by kandinsky generate (or by AUTOMATIC1111)')
    .action((path: string) => {
      try {
        console.log(describeParameters(path));
      } catch (err) {
        if (!(err instanceof KandinskyError)) throw err;
        console.error(`kandinsky: ${err.message}`);
        process.exitCode = NO_PARAMETERS;
      }
    });
}

/** The A1111 text, then the JSON. */
function describeParameters(path: string): string {
  const { infotext, parameters } = readEmbeddedParameters(path);
  if (infotext === undefined && parameters === undefined) throw new InputError(`${path}: the image carries no generation parameters`);
  return [infotext, parameters && JSON.stringify(parameters, null, 2)].filter((part) => part !== undefined).join('\n\n');
}
