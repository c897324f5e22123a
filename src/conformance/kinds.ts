
import { ConfigError } from '../errors.js';
import { TorchGenerator } from '../random/index.js';
import { CLIPTokenizer } from '../tokenizer/index.js';
import type { CaseData } from './golden.js';

/** Per-run state shared by the cases: loaded sessions/tokenizers keyed by what they were built from. */
export interface RunContext {
  readonly threads?: number;
  readonly cache: Map<string, Promise<{ release?: () => Promise<void> }>>;
}

/** Runs one case's inputs through the implementation; returns the outputs by their expected names. */
export type KindHandler = (data: CaseData, ctx: RunContext) => Promise<Record<string, unknown>>;

/** Loads something once per run (sessions are expensive), keyed by what it was loaded from. */
export function cached<T extends object>(ctx: RunContext, key: string, load: () => Promise<T> | T): Promise<T> {
  let entry = ctx.cache.get(key);
  if (!entry) {
    entry = Promise.resolve().then(load);
    ctx.cache.set(key, entry);
  }
  return entry as Promise<T>;
}

interface Draw {
  op: 'randn' | 'rand';
  shape: number[];
}

async function torchRandn(data: CaseData): Promise<Record<string, unknown>> {
  const g = new TorchGenerator();
  g.manualSeed(BigInt(data.input('seed') as number | string));
  const out: Record<string, unknown> = {};
  (data.input('draws') as Draw[]).forEach((d, i) => {
    if (d.op !== 'randn' && d.op !== 'rand') throw new ConfigError(`case ${data.c.name}: unknown draw op "${d.op}"`);
    out[`draw${i}`] = d.op === 'randn' ? g.randn(d.shape) : g.rand(d.shape);
  });
  return out;
}

async function clipTokenizer(data: CaseData, ctx: RunContext): Promise<Record<string, unknown>> {
  const dir = data.componentDir();
  const tokenizer = await cached(ctx, `tokenizer:${dir}`, () => CLIPTokenizer.fromPretrained(dir));
  const padding = data.c.inputs.padding as 'max_length' | 'longest' | false | undefined;
  const encoded = tokenizer.encode(data.input('texts') as string[], {
    maxLength: data.c.inputs.max_length as number | undefined,
    padding: padding ?? 'max_length',
    truncation: (data.c.inputs.truncation as boolean | undefined) ?? true,
  });
  return { input_ids: encoded.inputIds, attention_mask: encoded.attentionMask };
}

export const KIND_HANDLERS: Record<string, KindHandler> = {
  torch_randn: torchRandn,
  clip_tokenizer: clipTokenizer,
};

