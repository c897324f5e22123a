import { spawnSync } from 'node:child_process';

const safetensorsModule = new URL('../../src/weights/safetensors.js', import.meta.url).href;

export interface ChildRead {
  /** The refusal, or undefined when the file was read. */
  readonly error?: { readonly name: string; readonly message: string };
  readonly ms: number;
  /** How much the child's peak resident memory grew during the read. */
  readonly peakGrowthBytes: number;
}

/**
 * readSafetensors(path) in a fresh node process, so that a read that blocks fails the test instead of
 * hanging it, and the peak memory of the read is its own.
 */
export function readSafetensorsInChild(path: string, timeoutMs: number): ChildRead {
  const script = `
    const { readSafetensors } = await import(${JSON.stringify(safetensorsModule)});
    const before = process.resourceUsage().maxRSS;
    const start = performance.now();
    let error;
    try { readSafetensors(process.argv[1]); } catch (err) { error = { name: err.name, message: err.message }; }
    const ms = performance.now() - start;
    console.log(JSON.stringify({ error, ms, peakGrowthBytes: (process.resourceUsage().maxRSS - before) * 1024 }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, path], { timeout: timeoutMs, encoding: 'utf8' });
  if (child.error) throw new Error(`reading ${path} in a child process: ${child.error.message}`);
  if (child.status !== 0) throw new Error(`reading ${path} in a child process failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as ChildRead;
}
