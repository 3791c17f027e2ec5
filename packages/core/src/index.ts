export * from './ops.js';
export * from './errors.js';
export * from './reference.js';
export * from './features.js';
export * from './config.js';
export * from './detector.js';
export * from './preprocess.js';
