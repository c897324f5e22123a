/** Diffusion schedulers: config -> timesteps, step(), add_noise(), bit-faithful to diffusers 0.31 on torch 1.13 (doc §5). */
export { schedulerFromConfig, loadScheduler, SCHEDULER_CLASSES } from './load.js';
export { timestepsForStrength, type Scheduler, type StepOptions } from './scheduler.js';
export { UnCLIPScheduler, type UnCLIPSchedulerConfig } from './unclip-scheduler.js';
export { DDPMScheduler, type DDPMSchedulerConfig } from './ddpm-scheduler.js';
export { DDIMScheduler, type DDIMSchedulerConfig } from './ddim-scheduler.js';
export { DPMSolverMultistepScheduler, type DPMSolverMultistepSchedulerConfig } from './dpm-solver-multistep-scheduler.js';
export { betasFor, noiseSchedule, torchLinspaceFloat32, type BetaSchedule, type NoiseSchedule } from './noise-schedule.js';
