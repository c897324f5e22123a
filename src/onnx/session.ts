import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InputError, KandinskyError } from '../errors.js';
import { formatShape, tensor, type Float32Tensor, type Tensor } from '../tensor/index.js';
import type { Graph } from './graph.js';

export type Device = 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';

export interface SessionOptions {
  /** Execution provider; default: the best one this onnxruntime build has (see `defaultDevice`). */
  device?: Device;
  /** Intra-op threads; default: onnxruntime's choice (one per physical core). */
  threads?: number;
  /** Weight prepacking trades memory at load for speed; on by default. */
  prepack?: boolean;
  /** Write onnxruntime's per-node profile (JSON) to files starting with this prefix. */
  profilePrefix?: string;
}

const PROVIDER_NAMES: Record<Device, string> = { cpu: 'cpu', cuda: 'cuda', webgpu: 'webgpu', dml: 'dml', coreml: 'coreml' };

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
  return (Object.keys(PROVIDER_NAMES) as Device[]).filter((d) => {
    const b = backends.find((x) => x.name === PROVIDER_NAMES[d]);
    return b !== undefined && (b.bundled || hasProviderLibrary(PROVIDER_NAMES[d]));
  });
}

/** CUDA when this onnxruntime has it (installed with ONNXRUNTIME_NODE_INSTALL=cuda12), else CPU. */
export function defaultDevice(): Device {
  return availableDevices().includes('cuda') ? 'cuda' : 'cpu';
}

export function checkDevice(device: Device): void {
  const have = availableDevices();
  if (!have.includes(device)) {
    const hint = device === 'cuda' ? ' (reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci, with CUDA 12 and cuDNN 9 present)' : '';
    throw new KandinskyError(`device "${device}" is not available in this onnxruntime build${hint}; available: ${have.join(', ')}`);
  }
}

type Feed = Tensor;

/** One network loaded into onnxruntime. Inputs and outputs are plain tensors. */
export class NetworkSession {
  private constructor(
    readonly name: string,
    private readonly session: ort.InferenceSession,
  ) {}

  static async create(graph: Graph, options: SessionOptions = {}): Promise<NetworkSession> {
    const device = options.device ?? defaultDevice();
    checkDevice(device);
    const session = await ort.InferenceSession.create(graph.toModelProto(), sessionOptions(graph, device, options));
    return new NetworkSession(graph.name, session);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  async run(feeds: Record<string, Feed>): Promise<Record<string, Float32Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(this.name, name, t);
    const out = await this.session.run(ortFeeds);
    const result: Record<string, Float32Tensor> = {};
    for (const [name, v] of Object.entries(out)) {
      if (v.type !== 'float32') throw new KandinskyError(`${this.name}: output "${name}" is ${v.type}, expected float32`);
      result[name] = tensor(v.data as Float32Array, v.dims);
    }
    return result;
  }

  /** Ends profiling (see SessionOptions.profilePrefix); onnxruntime writes the file then. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function sessionOptions(graph: Graph, device: Device, o: SessionOptions): ort.InferenceSession.SessionOptions {
  const session: Record<string, string> = {};
  // Weights are external data inside the checkpoint files; pointing onnxruntime at their real folder lets
  // it follow the Hugging Face cache's symlinks (which it otherwise refuses as escaping the model dir).
  if (graph.externalFolder) session.model_external_initializers_file_folder_path = graph.externalFolder;
  if (o.prepack === false) session.disable_prepacking = '1';
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [PROVIDER_NAMES[device]],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    executionMode: 'sequential',
    extra: { session },
  };
  if (o.threads !== undefined) options.intraOpNumThreads = o.threads;
  if (o.profilePrefix !== undefined) Object.assign(options, { enableProfiling: true, profileFilePrefix: o.profilePrefix });
  return options;
}

function toOrt(net: string, name: string, t: Feed): ort.Tensor {
  const dims = [...t.shape];
  if (t.data instanceof Float32Array) return new ort.Tensor('float32', t.data, dims);
  if (t.data instanceof BigInt64Array) return new ort.Tensor('int64', t.data, dims);
  if (t.data instanceof Uint8Array) return new ort.Tensor('bool', t.data, dims);
  if (t.data instanceof Int32Array) return new ort.Tensor('int32', t.data, dims);
  throw new InputError(`${net}: input "${name}" ${formatShape(dims)} has an unsupported element type`);
}
