export * from './types.js';
export { decodeModel, encodeModel, cloneModel, defaultOpset, toNumber } from './proto.js';
export { tensorToFloat32, tensorToNumbers, tensorDims, float32Initializer, int64Initializer } from './tensor.js';
export { attrInt, attrInts, attrFloat, attrString, attrTensor, attr } from './attributes.js';
export { GraphIndex } from './graph-index.js';
export { GraphBuilder, graphOps, type GraphTensor } from './graph-ops.js';
export { inferShapes, UNKNOWN_DIM, type Dim, type Shape } from './shapes.js';
export { toGraphView } from './graph-view.js';
