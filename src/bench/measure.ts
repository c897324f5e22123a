import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Graph, defaultDevice, NetworkSession, physicalCores, type Device } from '../onnx/index.js';
import type { Tensor } from '../tensor/index.js';
import { readProfile } from './flops.js';

/** One line of `kandinsky bench` output. */
export interface Measurement {
  what: string;
  size: number | null;
  batch: number | null;
  seconds: number;
  gflop: number | null;
  gflops: number | null;
  peak_rss_mb: number;
  provider: string;
  threads: number;
}

export interface MeasureOptions {
  device?: Device;
  threads?: number;
  /** Timed runs after the (profiled) warm-up run; the median is reported. */
  runs?: number;
  /** Also emit where the warm-up run spent its time, per operator type. */
  profile?: boolean;
  /** Weight prepacking (see SessionOptions.prepack). */
  prepack?: boolean;
  /** onnxruntime's memory arena (see SessionOptions.memoryArena). */
  memoryArena?: boolean;
}

export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** One output line; `flops` null where none were counted. */
export function measurement(
  what: string, seconds: number, flops: number | null, dims: { size: number | null; batch: number | null }, o: { device?: Device; threads?: number },
): Measurement {
  return {
    what, size: dims.size, batch: dims.batch, seconds: round(seconds), gflop: flops === null ? null : round(flops / 1e9),
    gflops: flops === null ? null : round(flops / 1e9 / seconds), peak_rss_mb: peakRssMb(),
    provider: o.device ?? defaultDevice(), threads: o.threads ?? physicalCores(),
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/**
 * Times building + loading a graph, then its forward pass. The warm-up run is profiled to count the
 * FLOPs actually executed (Conv/MatMul/Gemm shapes), so GFLOP/s is measured, not estimated.
 */
export async function measureNetwork(
  what: string,
  build: () => Graph,
  feeds: Record<string, Tensor>,
  dims: { size: number | null; batch: number | null },
  o: MeasureOptions,
  emit: (m: Measurement) => void,
): Promise<void> {
  const line = (name: string, seconds: number, flops: number | null, d = dims) => measurement(name, seconds, flops, d, o);
  const profileDir = mkdtempSync(join(tmpdir(), 'kandinsky-bench-'));
  try {
    let t = performance.now();
    const session = await NetworkSession.create(build(), { device: o.device, threads: o.threads, prepack: o.prepack, memoryArena: o.memoryArena, profilePrefix: join(profileDir, 'profile') });
    emit(line(`${what} build+session`, (performance.now() - t) / 1000, null, { size: null, batch: null }));
    await session.run(feeds);
    session.endProfiling();
    const { flops, byOp } = readProfile(join(profileDir, 'profile'));
    if (o.profile) {
      const total = byOp.reduce((a, [, s]) => a + s, 0);
      for (const [op, seconds] of byOp) {
        console.log(JSON.stringify({ what: `${what} profile`, op, seconds: round(seconds), share: round(seconds / total) }));
      }
    }
    const times: number[] = [];
    for (let i = 0; i < Math.max(1, o.runs ?? 1); i++) {
      t = performance.now();
      await session.run(feeds);
      times.push((performance.now() - t) / 1000);
    }
    emit(line(`${what} forward`, median(times), flops));
    await session.release();
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
}

export function round(x: number): number {
  return Number(x.toPrecision(4));
}
