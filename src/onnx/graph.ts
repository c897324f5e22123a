import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { readTensorBytes, type TensorInfo, type WeightDType } from '../weights/index.js';

// onnx-proto is CommonJS; its named export is reached through require.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace };
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

/** The name of a value in the graph. */
export type Value = string & { readonly __brand?: 'Value' };

export type ElementType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';
const ELEMENT: Record<ElementType, number> = {
  float32: DT.FLOAT, float16: DT.FLOAT16, int64: DT.INT64, int32: DT.INT32, bool: DT.BOOL,
};
const WEIGHT_ELEMENT: Record<WeightDType, number> = {
  F64: DT.DOUBLE, F32: DT.FLOAT, F16: DT.FLOAT16, BF16: DT.BFLOAT16, I64: DT.INT64, I32: DT.INT32,
  I16: DT.INT16, I8: DT.INT8, U8: DT.UINT8, BOOL: DT.BOOL,
};

export type Attr = number | number[] | string | { float: number } | { floats: number[] };
export type Dim = number | string;

/** Opset 17: LayerNormalization is there; GroupNorm is composed (see groupNorm). */
export const OPSET = 17;

/**
 * Builds one ONNX graph. Weights enter as external-data initializers that point into the checkpoint
 * files (see DESIGN.md "The one idea"); everything else is small constants made here.
 */
export class Graph {
  private readonly nodes: OnnxNamespace.INodeProto[] = [];
  private readonly initializers: OnnxNamespace.ITensorProto[] = [];
  private readonly inputs: OnnxNamespace.IValueInfoProto[] = [];
  private readonly outputs: OnnxNamespace.IValueInfoProto[] = [];
  private readonly constants = new Map<string, Value>();
  private readonly weights = new Map<string, Value>();
  private counter = 0;
  /** Folder holding every external-data file of this graph (onnxruntime wants them side by side). */
  externalFolder: string | undefined;
  /** Names (inside externalFolder) of the files the external initializers point into. */
  readonly externalFiles = new Set<string>();
  /** The graph inputs as declared, for checking feeds before they reach onnxruntime. */
  readonly inputSpecs: { name: string; type: ElementType; dims: readonly Dim[] }[] = [];
  private derived = false;

  constructor(readonly name: string) {}

  /**
   * True when onnxruntime's constant folding will compute new weight-sized tensors from the checkpoint's
   * (fp16/bf16 weights cast to float32, kernels summed at load): an optimised model saved from this graph
   * would hold them inline, a second copy of the weights (see model-cache.ts).
   */
  get foldsWeights(): boolean {
    return this.derived;
  }

  /** Records that a weight enters a computation onnxruntime folds at load (see `foldsWeights`). */
  foldWeight(): void {
    this.derived = true;
  }

  private fresh(hint: string): Value {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, type: ElementType, dims: readonly Dim[]): Value {
    this.inputs.push(valueInfo(name, type, dims));
    this.inputSpecs.push({ name, type, dims: [...dims] });
    return name;
  }

  output(value: Value, name: string, type: ElementType = 'float32', dims?: readonly Dim[]): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: `output_${name}` });
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** Adds a node with any number of outputs. */
  node(opType: string, inputs: readonly (Value | '')[], attrs: Record<string, Attr> = {}, outputs = 1, domain = ''): Value[] {
    const out = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push({
      opType, domain, name: out[0], input: [...inputs], output: out,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return out;
  }

  op(opType: string, inputs: readonly (Value | '')[], attrs: Record<string, Attr> = {}): Value {
    return this.node(opType, inputs, attrs)[0];
  }

  // ---- constants and weights ----

  /** A float32 constant; identical constants are shared. */
  constant(values: ArrayLike<number>, dims: readonly number[] = [values.length]): Value {
    return this.cached(DT.FLOAT, dims, Float32Array.from(values));
  }

  scalar(x: number): Value {
    return this.constant([x], []);
  }

  /** An int64 constant (shapes, axes, indices). */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): Value {
    return this.cached(DT.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /**
   * Constants are shared by a digest of their type, dims and bytes: the bytes tell -0 from 0, and the key
   * stays a few dozen characters however large the constant (a causal mask, a frequency table).
   */
  private cached(dataType: number, dims: readonly number[], data: Float32Array | BigInt64Array): Value {
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const key = createHash('sha256').update(`${dataType}[${dims.join(',')}]`).update(rawData).digest('base64');
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(dataType === DT.FLOAT ? 'const_f' : 'const_i');
      this.initializers.push({ name, dataType, dims: [...dims], rawData });
      this.constants.set(key, name);
    }
    return name;
  }

  /**
   * A checkpoint tensor as a float32 value. Its bytes stay in the checkpoint file (external data);
   * half-precision weights are cast once, which onnxruntime folds at load.
   */
  weight(info: TensorInfo): Value {
    const known = this.weights.get(info.name);
    if (known) return known;
    const name = info.name;
    const proto: OnnxNamespace.ITensorProto = { name, dataType: WEIGHT_ELEMENT[info.dtype], dims: [...info.shape] };
    const folder = dirname(info.file);
    if (!info.data && (this.externalFolder === undefined || this.externalFolder === folder)) {
      this.externalFolder = folder;
      this.externalFiles.add(basename(info.file));
      proto.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      proto.externalData = [
        { key: 'location', value: basename(info.file) },
        { key: 'offset', value: String(info.offset) },
        { key: 'length', value: String(info.byteLength) },
      ];
    } else {
      // A gathered view, or a file in a second folder: onnxruntime can only take these bytes inline.
      proto.rawData = readTensorBytes(info);
    }
    this.initializers.push(proto);
    if (info.dtype !== 'F32') this.foldWeight();
    const value = info.dtype === 'F32' ? name : this.op('Cast', [name], { to: DT.FLOAT });
    this.weights.set(info.name, value);
    return value;
  }

  // ---- elementwise ----

  add(a: Value, b: Value): Value { return this.op('Add', [a, b]); }
  sub(a: Value, b: Value): Value { return this.op('Sub', [a, b]); }
  mul(a: Value, b: Value): Value { return this.op('Mul', [a, b]); }
  sqrt(a: Value): Value { return this.op('Sqrt', [a]); }
  cos(a: Value): Value { return this.op('Cos', [a]); }
  sin(a: Value): Value { return this.op('Sin', [a]); }
  sigmoid(a: Value): Value { return this.op('Sigmoid', [a]); }
  relu(a: Value): Value { return this.op('Relu', [a]); }
  silu(a: Value): Value { return this.mul(a, this.sigmoid(a)); }
  /**
   * Exact (erf) GELU, as `hidden_act: "gelu"` and diffusers' FeedForward use: onnxruntime's fused Gelu, one pass
   * instead of four elementwise ones (its optimiser does not fuse the composed form here).
   */
  gelu(a: Value): Value {
    return this.node('Gelu', [a], {}, 1, 'com.microsoft')[0];
  }
  cast(a: Value, to: ElementType): Value { return this.op('Cast', [a], { to: ELEMENT[to] }); }

  // ---- shape ----

  reshape(a: Value, shape: readonly number[]): Value { return this.op('Reshape', [a, this.ints(shape)]); }
  reshapeTo(a: Value, shape: Value): Value { return this.op('Reshape', [a, shape]); }
  transpose(a: Value, perm: readonly number[]): Value { return this.op('Transpose', [a], { perm: [...perm] }); }
  concat(values: readonly Value[], axis: number): Value { return this.op('Concat', values, { axis }); }
  unsqueeze(a: Value, axes: readonly number[]): Value { return this.op('Unsqueeze', [a, this.ints(axes)]); }
  squeeze(a: Value, axes: readonly number[]): Value { return this.op('Squeeze', [a, this.ints(axes)]); }
  shape(a: Value, start?: number, end?: number): Value {
    const attrs: Record<string, Attr> = {};
    if (start !== undefined) attrs.start = start;
    if (end !== undefined) attrs.end = end;
    return this.op('Shape', [a], attrs);
  }
  slice(a: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Value {
    const ins = [a, this.ints(starts), this.ints(ends), this.ints(axes)];
    if (steps) ins.push(this.ints(steps));
    return this.op('Slice', ins);
  }
  /** Equal chunks along an axis, as torch.chunk for divisible sizes. */
  chunk(a: Value, chunks: number, axis: number): Value[] {
    return this.node('Split', [a], { axis }, chunks);
  }
  gather(a: Value, indices: Value, axis = 0): Value { return this.op('Gather', [a, indices], { axis }); }
  expand(a: Value, shape: Value): Value { return this.op('Expand', [a, shape]); }

  // ---- linear algebra ----

  matmul(a: Value, b: Value): Value { return this.op('MatMul', [a, b]); }

  /**
   * torch.nn.Linear on [..., in]: y = x W^T + b. Gemm takes W as stored ([out, in], transB), so the
   * weight is never re-laid out in the graph and a saved optimised model can keep pointing at the file.
   */
  linear(x: Value, weight: Value, bias: Value | undefined, outFeatures: number, inFeatures: number): Value {
    const flat = this.reshape(x, [-1, inFeatures]);
    const y = this.op('Gemm', bias ? [flat, weight, bias] : [flat, weight], { transB: 1 });
    const lead = this.shape(x, 0, -1);
    return this.reshapeTo(y, this.concat([lead, this.ints([outFeatures])], 0));
  }

  conv2d(x: Value, weight: Value, bias: Value | undefined, o: { stride?: number; pad?: number | [number, number, number, number]; group?: number } = {}): Value {
    const s = o.stride ?? 1;
    const p = o.pad ?? 0;
    const pads = typeof p === 'number' ? [p, p, p, p] : p;
    return this.op('Conv', bias ? [x, weight, bias] : [x, weight], { strides: [s, s], pads: [...pads], group: o.group ?? 1 });
  }

  /** torch.nn.ConvTranspose2d with kernel = stride and no padding; weight [in, out, k, k]. */
  convTranspose2d(x: Value, weight: Value, bias: Value | undefined, stride: number): Value {
    return this.op('ConvTranspose', bias ? [x, weight, bias] : [x, weight], { strides: [stride, stride] });
  }

  softmax(a: Value, axis = -1): Value { return this.op('Softmax', [a], { axis }); }

  /**
   * Multi-head scaled dot-product attention on token-major tensors: q [B, Tq, H*D], k and v [B, Tk, H*D]
   * -> [B, Tq, H*D]. `mask` is additive and broadcasts against the scores [B, H, Tq, Tk].
   *
   * Unmasked attention is onnxruntime's fused MultiHeadAttention (flash attention on CPU): it never holds
   * the [Tq, Tk] score matrices, which at 512x512 are the UNet's and MoVQ's largest tensors.
   */
  attention(q: Value, k: Value, v: Value, heads: number, headDim: number, o: { scale?: number; mask?: Value } = {}): Value {
    const scale = o.scale ?? 1 / Math.sqrt(headDim);
    if (!o.mask) return this.node('MultiHeadAttention', [q, k, v], { num_heads: heads, scale: { float: scale } }, 1, 'com.microsoft')[0];
    const split = (x: Value) => this.transpose(this.reshape(x, [0, 0, heads, headDim]), [0, 2, 1, 3]);
    const kT = this.transpose(this.reshape(k, [0, 0, heads, headDim]), [0, 2, 3, 1]);
    const scores = this.add(this.mul(this.matmul(split(q), kT), this.scalar(scale)), o.mask);
    const out = this.matmul(this.softmax(scores, -1), split(v));
    return this.reshape(this.transpose(out, [0, 2, 1, 3]), [0, 0, heads * headDim]);
  }

  // ---- normalisation ----

  layerNorm(x: Value, weight: Value, bias: Value, eps: number): Value {
    return this.op('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: { float: eps } });
  }

  /**
   * torch GroupNorm on [B, C, ...]: normalise each group of C/G consecutive channels over the group and all
   * spatial positions (InstanceNormalization over [B, G, rest]), then the per-channel affine.
   */
  groupNorm(x: Value, groups: number, eps: number, weight?: Value, bias?: Value, channels?: number, spatialRank = 2): Value {
    const grouped = this.reshape(x, [0, groups, -1]);
    const normed = this.op('InstanceNormalization', [grouped, this.constant(new Array(groups).fill(1)), this.constant(new Array(groups).fill(0))], { epsilon: { float: eps } });
    let y = this.reshapeTo(normed, this.shape(x));
    if (weight && bias && channels !== undefined) {
      const perChannel = [channels, ...new Array(spatialRank).fill(1)];
      y = this.add(this.mul(y, this.reshape(weight, perChannel)), this.reshape(bias, perChannel));
    }
    return y;
  }

  // ---- resampling ----

  /** F.interpolate(scale_factor=(scaleH, scaleW), mode="nearest") on NCHW: src = floor(dst / scale). */
  upsampleNearest(x: Value, scaleH: number, scaleW: number): Value {
    const attrs = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    return this.op('Resize', [x, '', this.constant([1, 1, scaleH, scaleW])], attrs);
  }

  /**
   * F.interpolate(mode="bilinear") on NCHW, to `size` (an int64 [4] value: the whole output shape).
   * align_corners: src = dst * (in - 1) / (out - 1); otherwise src = (dst + 0.5) * in / out - 0.5, clamped
   * at 0 (pytorch_half_pixel: also PyTorch's answer for an output side of 1).
   */
  resizeBilinear(x: Value, size: Value, o: { alignCorners: boolean }): Value {
    const mode = o.alignCorners ? 'align_corners' : 'pytorch_half_pixel';
    return this.op('Resize', [x, '', '', size], { mode: 'linear', coordinate_transformation_mode: mode });
  }

  /** F.interpolate(scale_factor=2, mode="bilinear", align_corners=True) on NCHW. */
  upsampleBilinear2xAlignCorners(x: Value): Value {
    return this.op('Resize', [x, '', this.constant([1, 1, 2, 2])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' });
  }

  avgPool2x(x: Value): Value {
    return this.op('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  }

  pad(x: Value, pads: readonly number[], value = 0): Value {
    return this.op('Pad', [x, this.ints(pads), this.scalar(value)]);
  }

  // ---- model ----

  toModelProto(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'kandinsky',
      opsetImport: [{ domain: '', version: OPSET }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  get nodeCount(): number {
    return this.nodes.length;
  }
}

function valueInfo(name: string, type: ElementType, dims?: readonly Dim[]): OnnxNamespace.IValueInfoProto {
  const shape = dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined;
  return { name, type: { tensorType: { elemType: ELEMENT[type], shape } } };
}

function attribute(name: string, v: Attr): OnnxNamespace.IAttributeProto {
  if (typeof v === 'number') return { name, type: AT.INT, i: v };
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if ('float' in v) return { name, type: AT.FLOAT, f: v.float };
  return { name, type: AT.FLOATS, floats: v.floats };
}
