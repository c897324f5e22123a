import { rmSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InputError, KandinskyError } from '../errors.js';
import { formatShape, numel, tensor, type Float32Tensor, type Tensor } from '../tensor/index.js';
import { checkDevice, defaultDevice, type Device } from './devices.js';
import type { ElementType, Graph } from './graph.js';
import { defaultModelCacheDir, modelKey, optimisedModel } from './model-cache.js';

export interface SessionOptions {
  /** Execution provider; default: the best one this onnxruntime build has (see `defaultDevice`). */
  device?: Device;
  /** Intra-op threads; default: onnxruntime's choice (one per physical core). */
  threads?: number;
  /** Weight prepacking: faster kernels for many runs, but every weight is read and copied at load. On by default. */
  prepack?: boolean;
  /** Write onnxruntime's per-node profile (JSON) to files starting with this prefix. */
  profilePrefix?: string;
  /** Folder of saved optimised models; `null` turns the disk cache off. Default: ~/.cache/kandinsky/onnx. */
  cacheDir?: string | null;
  /**
   * onnxruntime's CPU memory arena (default on): faster allocation, but it keeps freed blocks and grows in
   * large steps, which at the largest activations (a 2048x2048 MoVQ decode) costs gigabytes of peak memory.
   */
  memoryArena?: boolean;
}

interface Shared {
  session: Promise<ort.InferenceSession>;
  users: number;
}

// Sessions are shared within a process: the same graph over the same weights with the same settings is
// built and optimised once, however many pipelines ask for it.
const live = new Map<string, Shared>();

type Feed = Tensor;

/** Seconds this process has spent inside onnxruntime: creating sessions, and in `run`. */
export interface OnnxruntimeTime {
  readonly load: number;
  readonly run: number;
}

// The benchmark subtracts these from a whole generation to find the time spent in our own code.
const spent = { load: 0, run: 0 };

export function onnxruntimeTime(): OnnxruntimeTime {
  return { ...spent };
}

async function timed<T>(what: keyof typeof spent, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    spent[what] += (performance.now() - started) / 1000;
  }
}

/** One network loaded into onnxruntime. Inputs and outputs are plain tensors. */
export class NetworkSession {
  private released = false;

  private constructor(
    readonly name: string,
    private readonly inputs: Graph['inputSpecs'],
    private readonly session: ort.InferenceSession,
    private readonly shared: { key: string; entry: Shared } | undefined,
  ) {}

  static async create(graph: Graph, options: SessionOptions = {}): Promise<NetworkSession> {
    const device = options.device ? checkDevice(options.device) : defaultDevice();
    const bytes = graph.toModelProto();
    const key = modelKey(graph, bytes, device);
    if (options.profilePrefix !== undefined) {
      return new NetworkSession(graph.name, graph.inputSpecs, await openSession(graph, bytes, key, device, options), undefined);
    }
    const liveKey = `${key}:${options.threads ?? ''}:${options.prepack ?? ''}:${options.cacheDir ?? ''}:${options.memoryArena ?? ''}`;
    let entry = live.get(liveKey);
    if (!entry) {
      entry = { session: openSession(graph, bytes, key, device, options), users: 0 };
      live.set(liveKey, entry);
      entry.session.catch(() => live.delete(liveKey));
    }
    entry.users++;
    return new NetworkSession(graph.name, graph.inputSpecs, await entry.session, { key: liveKey, entry });
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  async run(feeds: Record<string, Feed>): Promise<Record<string, Float32Tensor>> {
    if (this.released) throw new KandinskyError(`${this.name}: session already released`);
    checkFeeds(this.name, this.inputs, feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(elementOf(t), t.data, [...t.shape]);
    const out = await timed('run', () => this.session.run(ortFeeds));
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

  /** Gives the session back; onnxruntime frees it when its last user in this process has. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (!this.shared) return this.session.release();
    const { key, entry } = this.shared;
    if (--entry.users > 0) return;
    live.delete(key);
    await this.session.release();
  }
}

function openSession(graph: Graph, bytes: Uint8Array, key: string, device: Device, o: SessionOptions): Promise<ort.InferenceSession> {
  return timed('load', () => createInferenceSession(graph, bytes, key, device, o));
}

async function createInferenceSession(graph: Graph, bytes: Uint8Array, key: string, device: Device, o: SessionOptions): Promise<ort.InferenceSession> {
  const options = sessionOptions(graph, device, o);
  const cacheDir = o.cacheDir === undefined ? defaultModelCacheDir() : o.cacheDir;
  if (cacheDir !== null) {
    const path = await optimisedModel(cacheDir, key, graph, bytes, configEntries(graph, {}), device).catch(() => undefined);
    // A cached model that onnxruntime cannot open again is rebuilt from the graph.
    if (path) {
      return ort.InferenceSession.create(path, options).catch(() => {
        rmSync(path, { force: true });
        return ort.InferenceSession.create(bytes, options);
      });
    }
  }
  return ort.InferenceSession.create(bytes, options);
}

function configEntries(graph: Graph, o: SessionOptions): Record<string, string> {
  const session: Record<string, string> = {};
  // Weights are external data inside the checkpoint files; pointing onnxruntime at their real folder lets
  // it follow the Hugging Face cache's symlinks (which it otherwise refuses as escaping the model dir).
  if (graph.externalFolder) session.model_external_initializers_file_folder_path = graph.externalFolder;
  // Denormals (|x| < 1.2e-38, far below any tolerance) slow the CPU's float units by orders of magnitude;
  // activations near zero (SiLU of large negatives) produce them.
  session.set_denormal_as_zero = '1';
  if (o.prepack === false) session.disable_prepacking = '1';
  return session;
}

function sessionOptions(graph: Graph, device: Device, o: SessionOptions): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // A memory pattern is planned on the first run of each input shape and used from the second on as one
    // block the size of the run's peak, which the arena cannot carve from the first run's freed chunks: the
    // second decode of a MoVQ at 512x512 peaked at 2.4 GB instead of 1.4 GB. Without it each tensor comes from
    // the arena as it is needed, and repeated runs stay at the first one's peak.
    enableMemPattern: false,
    enableCpuMemArena: o.memoryArena ?? true,
    extra: { session: configEntries(graph, o) },
  };
  if (o.threads !== undefined) options.intraOpNumThreads = o.threads;
  if (o.profilePrefix !== undefined) Object.assign(options, { enableProfiling: true, profileFilePrefix: o.profilePrefix });
  return options;
}

/** The ONNX element type a feed's array carries (Uint8Array carries booleans). */
function elementOf(t: Feed): Exclude<ElementType, 'float16'> {
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof Int32Array) return 'int32';
  return 'bool';
}

/**
 * Checks feeds against the graph's declared inputs: names, element types, ranks, fixed sizes, and that a
 * symbolic size (batch, height...) means the same number in every input. Bad feeds get an InputError
 * naming the input, not an onnxruntime failure.
 */
function checkFeeds(net: string, specs: Graph['inputSpecs'], feeds: Record<string, Feed>): void {
  const symbols = new Map<string, { value: number; input: string }>();
  for (const name of Object.keys(feeds)) {
    if (!specs.some((s) => s.name === name)) {
      throw new InputError(`${net}: unexpected input "${name}"; inputs are ${specs.map((s) => s.name).join(', ')}`);
    }
  }
  for (const spec of specs) {
    const t = feeds[spec.name];
    if (!t) throw new InputError(`${net}: missing input "${spec.name}" ${formatShape(spec.dims)}`);
    if (elementOf(t) !== spec.type) {
      throw new InputError(`${net}: input "${spec.name}" is ${elementOf(t)}, expected ${spec.type}`);
    }
    if (t.data.length !== numel(t.shape)) {
      throw new InputError(`${net}: input "${spec.name}" has ${t.data.length} values for shape ${formatShape(t.shape)}`);
    }
    if (t.shape.length !== spec.dims.length) {
      throw new InputError(`${net}: input "${spec.name}" has shape ${formatShape(t.shape)}, expected ${formatShape(spec.dims)}`);
    }
    spec.dims.forEach((d, i) => {
      const got = t.shape[i];
      if (typeof d === 'number') {
        if (got !== d) throw new InputError(`${net}: input "${spec.name}" has shape ${formatShape(t.shape)}, expected ${formatShape(spec.dims)}`);
        return;
      }
      // A size may be a multiple of another input's, written "8*height".
      const [, factor, symbol] = /^(?:(\d+)\*)?(.+)$/.exec(d)!;
      const k = factor ? Number(factor) : 1;
      const seen = symbols.get(symbol);
      if (got % k !== 0 || (seen && seen.value !== got / k)) {
        const want = seen ? `${d} = ${k * seen.value} (from "${seen.input}")` : `a multiple of ${k}`;
        throw new InputError(`${net}: input "${spec.name}" has shape ${formatShape(t.shape)}, expected ${formatShape(spec.dims)} with ${want}`);
      }
      symbols.set(symbol, { value: got / k, input: spec.name });
    });
  }
}
