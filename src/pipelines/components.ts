import type { NetworkLoadOptions } from '../nets/index.js';

export interface PipelineOptions extends NetworkLoadOptions {
  /**
   * Keep networks loaded after their stage (a service that runs many generations): all of them (true), or those
   * whose component folder names are listed (`unet`, `prior`, ...). Default false: each is released once its
   * stage is done, so a generation's peak memory is about its largest network.
   */
  keepLoaded?: boolean | ReadonlySet<string>;
}

/** Whether `component` (its folder name in the repo) stays loaded after its stage. */
export function keeps(options: PipelineOptions, component: string): boolean {
  const k = options.keepLoaded ?? false;
  return typeof k === 'boolean' ? k : k.has(component);
}

interface Releasable {
  release(): Promise<void>;
}

/** A network loaded on first use and released when its stage is done, unless the pipeline keeps it. */
export class Held<T extends Releasable> {
  private value?: Promise<T>;
  private pins = 0;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly keep: boolean,
  ) {}

  get(): Promise<T> {
    this.value ??= this.load().catch((err: unknown) => {
      this.value = undefined;
      throw err;
    });
    return this.value;
  }

  /** Runs `use` on the network, then releases it unless kept (also when `use` throws or is cancelled). */
  async use<R>(use: (net: T) => Promise<R>): Promise<R> {
    try {
      return await use(await this.get());
    } finally {
      if (!this.keep && this.pins === 0) await this.release();
    }
  }

  /** Keeps the network loaded across several stages (prior interpolation runs the prior once per text). */
  async pinned<R>(run: () => Promise<R>): Promise<R> {
    this.pins++;
    try {
      return await run();
    } finally {
      if (--this.pins === 0 && !this.keep) await this.release();
    }
  }

  async release(): Promise<void> {
    const v = this.value;
    this.value = undefined;
    if (v) await (await v.catch(() => undefined))?.release();
  }
}
