export { createDetector, type WebDetectorOptions } from './detector.js';
export { decodeImage } from './decode-image.js';
export type { WebExecutionProvider } from './session.js';
