export { tfjsOps } from './ops.js';
export type { TfNamespace } from './ops.js';
