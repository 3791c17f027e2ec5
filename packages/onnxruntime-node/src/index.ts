export { createDetector, type NodeDetectorOptions } from './detector.js';
export { decodeImage, DEFAULT_MAX_IMAGE_PIXELS, type ColorManagement, type DecodeOptions } from './decode-image.js';
export { readRegularFile, readRegularFileSync, fileKind, MAX_MODEL_BYTES, MAX_JSON_BYTES, MAX_IMAGE_BYTES, type ReadRegularFileOptions } from './read-file.js';
export { installedProviders, type NodeExecutionProvider } from './session.js';
export { measureTensorShapes } from './measure-shapes.js';
