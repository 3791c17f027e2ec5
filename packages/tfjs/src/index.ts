export { tfjsOps } from './ops.js';
export type { TfNamespace } from './ops.js';
export { createDetector } from './detector.js';
export type { TfjsDetectorOptions } from './detector.js';
export type { GraphModelLike, LayersModelLike } from './runners.js';
