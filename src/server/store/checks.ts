// What every store checks before it writes: the ids and names that become file names, the timestamps it
// orders by, and output bytes that match their description. Shared so the stores refuse alike.
import { createHash } from 'node:crypto';
import { InputError } from '../../errors.js';
import type { OutputFile, PredictionRecord, UploadedFile } from '../types.js';
import { checkFileName } from './files.js';
import { isFileSafeId, isPredictionId } from './ids.js';
import { isCanonicalTimestamp } from './timestamps.js';

const CANONICAL_EXAMPLE = '2024-09-12T22:22:51.044455Z';

function checkTimestamp(value: string, field: string): void {
  if (!isCanonicalTimestamp(value)) throw new InputError(`${field}: expected a timestamp such as ${CANONICAL_EXAMPLE}, got ${JSON.stringify(value)}`);
}

export function checkNewPrediction(p: PredictionRecord): void {
  if (!isPredictionId(p.id)) throw new InputError(`prediction id: expected 26 lowercase base32 characters, got ${JSON.stringify(p.id)}`);
  if (p.status !== 'starting') throw new InputError(`prediction ${p.id} status: a new prediction is 'starting', got '${p.status}'`);
  checkTimestamp(p.createdAt, `prediction ${p.id} createdAt`);
}

export function checkNewUpload(f: UploadedFile, bytes: Uint8Array): void {
  if (!isFileSafeId(f.id)) throw new InputError(`upload id: expected 1 to 128 letters, digits, '_' or '-', got ${JSON.stringify(f.id)}`);
  checkTimestamp(f.createdAt, `upload ${f.id} createdAt`);
  if (f.expiresAt !== null) checkTimestamp(f.expiresAt, `upload ${f.id} expiresAt`);
  if (f.size !== bytes.length) throw new InputError(`upload ${f.id} size: says ${f.size} bytes, got ${bytes.length}`);
}

/** Output files of a finished prediction: only a success has them, each a plain name whose bytes match size and sha256. */
export function checkOutputs(
  predictionId: string,
  status: string,
  outputs: readonly { file: OutputFile; bytes: Uint8Array }[] | undefined,
): void {
  if (outputs === undefined) return;
  if (status !== 'succeeded') throw new InputError(`prediction ${predictionId}: outputs given for a '${status}' result; only 'succeeded' has outputs`);
  const names = new Set<string>();
  for (const { file, bytes } of outputs) {
    checkFileName(file.name, `prediction ${predictionId} output name`);
    if (names.has(file.name)) throw new InputError(`prediction ${predictionId} output name: ${file.name} given twice`);
    names.add(file.name);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (file.size !== bytes.length || file.sha256 !== sha256) {
      throw new InputError(`prediction ${predictionId} output ${file.name}: described as ${file.size} bytes with sha256 ${file.sha256}, got ${bytes.length} bytes with sha256 ${sha256}`);
    }
  }
}
