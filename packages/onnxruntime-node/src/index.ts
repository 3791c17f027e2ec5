export { createDetector, type NodeDetectorOptions } from './detector.js';
export { decodeImage, DEFAULT_MAX_IMAGE_PIXELS, type ColorManagement, type DecodeOptions } from './decode-image.js';
export { readRegularFile, readRegularFileSync, readImageFile, SYNC_IMAGE_READ_BYTES, fileKind, MAX_MODEL_BYTES, MAX_JSON_BYTES, MAX_IMAGE_BYTES, type ReadRegularFileOptions } from './read-file.js';
export { installedProviders, physicalCores, DETECTOR_SESSION_OPTIONS, type NodeExecutionProvider } from './session.js';
export { measureTensorShapes } from './measure-shapes.js';
