import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { KandinskyError } from '../errors.js';

export type Device = 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';

export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu', 'dml', 'coreml'];

/**
 * onnxruntime lists CUDA on every Linux x64 build, but its provider library is only there when installed
 * with ONNXRUNTIME_NODE_INSTALL=cuda12, so look for the file itself.
 */
function hasProviderLibrary(name: string): boolean {
  const binding = createRequire(import.meta.url).resolve('onnxruntime-node');
  const bin = join(dirname(binding), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(bin, `libonnxruntime_providers_${name}.so`)) || existsSync(join(bin, `onnxruntime_providers_${name}.dll`));
}

export function availableDevices(): Device[] {
  const backends = ort.listSupportedBackends();
  return DEVICES.filter((d) => {
    const b = backends.find((x) => x.name === d);
    return b !== undefined && (b.bundled || hasProviderLibrary(d));
  });
}

/** CUDA when this onnxruntime has it (installed with ONNXRUNTIME_NODE_INSTALL=cuda12), else CPU. */
export function defaultDevice(): Device {
  return availableDevices().includes('cuda') ? 'cuda' : 'cpu';
}

/** Accepts a device name from a user (CLI flag, option) and checks this onnxruntime build has it. */
export function checkDevice(device: string): Device {
  if (!DEVICES.includes(device as Device)) {
    throw new KandinskyError(`unknown device "${device}"; choose one of ${DEVICES.join(', ')}`);
  }
  const have = availableDevices();
  if (!have.includes(device as Device)) {
    const hint = device === 'cuda' ? ' (reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci, with CUDA 12 and cuDNN 9 present)' : '';
    throw new KandinskyError(`device "${device}" is not available in this onnxruntime build${hint}; available: ${have.join(', ')}`);
  }
  return device as Device;
}

/** What the CPU can do, for cache keys: an optimised model may depend on kernels chosen for this CPU. */
export function cpuFeatures(): string {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: the model name is the best we have
  }
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? cpus()[0]?.model ?? '';
  const flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
  return `${process.arch} ${model} ${flags}`;
}

/** onnxruntime's default intra-op thread count: one per physical core. */
export function physicalCores(): number {
  try {
    const cores = new Set(readFileSync('/proc/cpuinfo', 'utf8').split('\n\n').map((cpu) => {
      const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpu)?.[1];
      return `${field('physical id')}:${field('core id')}`;
    }).filter((key) => key !== 'undefined:undefined'));
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux
  }
  return availableParallelism();
}
