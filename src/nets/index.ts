export { buildCLIPTextModel, parseCLIPTextModelConfig, type CLIPTextModelConfig, type CLIPTextModelOptions } from './clip-text-model.js';
export { buildCLIPVisionModel, parseCLIPVisionModelConfig, type CLIPVisionModelConfig } from './clip-vision-model.js';
export { buildPriorTransformer, parsePriorTransformerConfig, readClipStatistics, type PriorTransformerConfig } from './prior-transformer.js';
export { buildUNet2DConditionModel } from './unet-2d-condition.js';
export { parseUNet2DConditionModelConfig, type UNet2DConditionModelConfig } from './unet-2d-condition-config.js';
export { buildVQModelDecoder, buildVQModelEncoder, parseVQModelConfig, type VQModelConfig, type VQDecoderOptions } from './vq-model.js';
export { loadNetwork, NETWORK_BUILDERS, PREPACK_BY_DEFAULT, type NetworkKind, type NetworkLoadOptions } from './load.js';
export { PUBLISHED_IMAGE_ENCODER, PUBLISHED_MOVQ, PUBLISHED_PRIOR, PUBLISHED_TEXT_ENCODER, PUBLISHED_UNET } from './published-configs.js';
export { CLIPTextModelWithProjection, CLIPVisionModelWithProjection, PriorTransformer, UNet2DConditionModel, VQModel, networkBytes, isLargeDecode } from './models.js';
