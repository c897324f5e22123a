export { Graph, OPSET, type Value, type ElementType, type Attr, type Dim } from './graph.js';
export { Weights } from './weights.js';
export { NetworkSession, availableDevices, defaultDevice, checkDevice, type Device, type SessionOptions } from './session.js';
