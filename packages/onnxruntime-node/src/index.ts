export { createDetector, type NodeDetectorOptions } from './detector.js';
export { decodeImage, DEFAULT_MAX_IMAGE_PIXELS } from './decode-image.js';
export { installedProviders, type NodeExecutionProvider } from './session.js';
export { measureTensorShapes } from './measure-shapes.js';
