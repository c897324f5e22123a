/** PyTorch's CPU random generator, reproduced bit for bit (architecture doc §6). */
export { TorchGenerator, DEFAULT_SEED } from './torch-generator.js';
export { MT19937 } from './mt19937.js';
export { fmaf32 } from './fma.js';
