export { Graph, OPSET, type Value, type ElementType, type Attr, type Dim } from './graph.js';
export { Weights } from './weights.js';
export { NetworkSession, onnxruntimeTime, type OnnxruntimeTime, type SessionOptions } from './session.js';
export { availableDevices, defaultDevice, checkDevice, physicalCores, DEVICES, type Device } from './devices.js';
export { defaultModelCacheDir } from './model-cache.js';
