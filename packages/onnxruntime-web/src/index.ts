export { createDetector, type WebDetectorOptions } from './detector.js';
export { decodeImage, DEFAULT_MAX_IMAGE_PIXELS, type WebDecodeOptions } from './decode-image.js';
export type { WebExecutionProvider } from './session.js';
