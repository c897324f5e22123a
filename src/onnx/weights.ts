import { WeightsError } from '../errors.js';
import { checkpointTensor, isFloatDType, type Checkpoint } from '../weights/index.js';
import type { Graph, Value } from './graph.js';

/**
 * A network's view of its checkpoint while its graph is built: `at(name, shape)` declares a weight once
 * checkpointTensor has checked it exists with the shape the config implies, and checks it is floating-point.
 */
export class Weights {
  constructor(
    private readonly graph: Graph,
    private readonly checkpoint: Checkpoint,
    private readonly prefix = '',
  ) {}

  sub(prefix: string): Weights {
    return new Weights(this.graph, this.checkpoint, this.key(prefix));
  }

  has(name: string): boolean {
    return this.checkpoint.tensors.has(this.key(name));
  }

  at(name: string, shape: readonly number[]): Value {
    const key = this.key(name);
    const info = checkpointTensor(this.checkpoint, key, shape);
    if (!isFloatDType(info.dtype)) {
      throw new WeightsError(`${info.file}: weight "${key}" is ${info.dtype}, expected a floating-point tensor`);
    }
    return this.graph.weight(info);
  }

  /** torch.nn.Linear weights: `<name>.weight` [out, in] and `<name>.bias` [out]. */
  linear(x: Value, name: string, inFeatures: number, outFeatures: number, bias = true): Value {
    const w = this.at(`${name}.weight`, [outFeatures, inFeatures]);
    const b = bias ? this.at(`${name}.bias`, [outFeatures]) : undefined;
    return this.graph.linear(x, w, b, outFeatures, inFeatures);
  }

  /** torch.nn.Conv2d weights: `<name>.weight` [out, in/group, k, k] and `<name>.bias` [out]. */
  conv2d(x: Value, name: string, inChannels: number, outChannels: number, kernel: number, o: { stride?: number; pad?: number | [number, number, number, number]; bias?: boolean } = {}): Value {
    const w = this.at(`${name}.weight`, [outChannels, inChannels, kernel, kernel]);
    const b = o.bias === false ? undefined : this.at(`${name}.bias`, [outChannels]);
    return this.graph.conv2d(x, w, b, { stride: o.stride, pad: o.pad ?? (kernel - 1) / 2 });
  }

  layerNorm(x: Value, name: string, dim: number, eps: number): Value {
    return this.graph.layerNorm(x, this.at(`${name}.weight`, [dim]), this.at(`${name}.bias`, [dim]), eps);
  }

  groupNorm(x: Value, name: string, groups: number, channels: number, eps: number): Value {
    const w = this.at(`${name}.weight`, [channels]);
    const b = this.at(`${name}.bias`, [channels]);
    return this.graph.groupNorm(x, groups, eps, w, b, channels);
  }

  private key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }
}
