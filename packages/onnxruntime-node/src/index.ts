export { createDetector, type NodeDetectorOptions } from './detector.js';
export { decodeImage, DEFAULT_MAX_IMAGE_PIXELS } from './decode-image.js';
export type { NodeExecutionProvider } from './session.js';
