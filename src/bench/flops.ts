import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { numel } from '../tensor/index.js';

// FLOPs of one run, counted from onnxruntime's profile: every node event carries its input shapes, and
// the networks' cost is in Conv, MatMul and Gemm (2 flops per multiply-add).

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

const dimsOf = (entry: Record<string, number[]> | undefined): number[] => (entry ? Object.values(entry)[0] ?? [] : []);

function nodeFlops(e: ProfileEvent): number {
  const op = e.args?.op_name ?? '';
  const ins = (e.args?.input_type_shape ?? []).map(dimsOf);
  const outs = (e.args?.output_type_shape ?? []).map(dimsOf);
  if (!outs[0]) return 0;
  if (op === 'Conv' || op === 'FusedConv' || op === 'NchwcConv') {
    const w = ins[1];
    return w ? 2 * numel(outs[0]) * numel(w.slice(1)) : 0;
  }
  const a = ins[0];
  if (!a) return 0;
  // Scores and weighted sum: 2 * (B*S*T*C) each for q [B, S, C] against k [B, T, C].
  if (op === 'MultiHeadAttention') return ins[1] ? 4 * numel(a) * ins[1][1] : 0;
  // Our Gemm and MatMul nodes never transpose A, so K is A's last dim.
  if (op === 'Gemm' || op === 'MatMul' || op === 'FusedMatMul') return 2 * numel(outs[0]) * a[a.length - 1];
  return 0;
}

export interface ProfileSummary {
  /** FLOPs of the Conv/MatMul/Gemm nodes. */
  flops: number;
  nodes: number;
  /** Seconds spent per operator type, largest first. */
  byOp: [string, number][];
}

/** Reads the profile file onnxruntime wrote for `prefix`, sums FLOPs and time per operator, deletes the file. */
export function readProfile(prefix: string): ProfileSummary {
  const dir = dirname(prefix);
  const file = readdirSync(dir).find((f) => f.startsWith(basename(prefix)) && f.endsWith('.json'));
  if (!file) return { flops: NaN, nodes: 0, byOp: [] };
  const path = join(dir, file);
  const events = JSON.parse(readFileSync(path, 'utf8')) as ProfileEvent[];
  rmSync(path, { force: true });
  let flops = 0;
  let nodes = 0;
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time')) continue;
    flops += nodeFlops(e);
    nodes++;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + (e.dur ?? 0) / 1e6);
  }
  return { flops, nodes, byOp: [...byOp].sort((a, b) => b[1] - a[1]) };
}
