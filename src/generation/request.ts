import type { PilImage } from '../image/index.js';
import type { Device } from '../onnx/index.js';
import type { SchedulerName } from '../pipelines/index.js';
import type { Float32Tensor } from '../tensor/index.js';

/** The ways to make images (and the prior alone), as the CLI and the service name them. */
export type GenerationMode = 'text2img' | 'img2img' | 'inpaint' | 'controlnet' | 'controlnet_img2img' | 'fuse' | 'prior';

/** One entry of a fuse: a text run through the prior, or an image through the image encoder, with its weight. */
export type MixEntry = { readonly text: string; readonly weight: number } | { readonly image: PilImage; readonly weight: number };

/**
 * Everything one generation needs, as plain data (it crosses to the worker that owns the sessions): model
 * folders already resolved, images already decoded.
 */
export interface GenerationRequest {
  readonly mode: GenerationMode;
  /** The prior repo folder (every mode but a decoder given image embeddings). */
  readonly prior?: string;
  /** The decoder repo folder (every mode but 'prior'). */
  readonly decoder?: string;
  readonly prompt?: string;
  readonly negativePrompt?: string | null;
  readonly width?: number;
  readonly height?: number;
  readonly numInferenceSteps?: number;
  readonly numInferenceStepsPrior?: number;
  readonly numOutputs?: number;
  readonly seed: number | bigint;
  readonly guidanceScale?: number;
  readonly priorGuidanceScale?: number;
  readonly scheduler?: SchedulerName;
  readonly strength?: number;
  readonly image?: PilImage;
  readonly mask?: PilImage;
  /** [1, 3, H, W] in [0, 1] at the output size. */
  readonly hint?: Float32Tensor;
  /** A photo whose estimated depth map becomes the hint (instead of `hint`), and the DPT model folder for it. */
  readonly hintFrom?: { readonly photo: PilImage; readonly depthModel: string };
  readonly mix?: readonly MixEntry[];
  /** Ready embeddings instead of the prior (decoder modes). */
  readonly imageEmbeds?: { readonly imageEmbeds: Float32Tensor; readonly negativeImageEmbeds: Float32Tensor };
  /** 'hosted': the negative embedding from the prior run on the negative text plus the hosted suffix. */
  readonly flow?: 'diffusers' | 'hosted';
}

/** How the worker loads networks. */
export interface EngineOptions {
  readonly device?: Device;
  readonly threads?: number;
  /** Weight variant of the decoder's UNet, e.g. "fp16". */
  readonly variant?: string;
  /** Bytes of float32 weights that may stay loaded between stages and generations; default 8 GiB. */
  readonly memoryBudget?: number;
}

export interface GenerationResult {
  /** The depth map estimated from `hintFrom`'s photo, at the photo's size. */
  readonly depth?: PilImage;
  /** [numOutputs, H, W, 3] in [0, 1]; absent for 'prior'. */
  readonly images?: Float32Tensor;
  /** The prior's output (every mode that ran the prior). */
  readonly imageEmbeds?: Float32Tensor;
  readonly negativeImageEmbeds?: Float32Tensor;
}
