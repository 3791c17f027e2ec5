import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const SHARED = `${repo}../shared/models`;
export const CACHE = `${repo}.cache/models`;

export interface ModelCase {
  file: string;
  inputShape: number[];
  dynamicBatch: boolean;
  manifest: string;
  /** Stage shapes derived by hand from the architecture (batch -1 where dynamic). */
  stages: Record<string, number[]>;
  /** Classifier weight shape, where there is a head. */
  head?: number[];
}

const b = -1;
export const SHARED_MODELS: ModelCase[] = [
  ...([20, 32, 44, 56] as const).map((d) => ({
    file: `${SHARED}/cifar10-resnet${d}.onnx`, inputShape: [1, 3, 32, 32], dynamicBatch: true, manifest: `cifar_resnet${d}`,
    stages: { C3: [b, 16, 32, 32], C4: [b, 32, 16, 16], C5: [b, 64, 8, 8] }, head: [10, 64],
  })),
  ...['imagenet-mobilenetv2.onnx', 'imagenet-mobilenetv2-int8w.onnx'].map((f) => ({
    file: `${SHARED}/${f}`, inputShape: [1, 3, 224, 224], dynamicBatch: true, manifest: 'mobilenet_v2',
    stages: { C2: [b, 144, 56, 56], C3: [b, 192, 28, 28], C4: [b, 576, 14, 14], C5: [b, 1280, 7, 7] }, head: [1000, 1280],
  })),
];

export const EXPORTED_MODELS: ModelCase[] = [
  { file: `${CACHE}/resnet18.onnx`, inputShape: [1, 3, 224, 224], dynamicBatch: true, manifest: 'resnet18',
    stages: { C2: [b, 64, 56, 56], C3: [b, 128, 28, 28], C4: [b, 256, 14, 14], C5: [b, 512, 7, 7] }, head: [1000, 512] },
  { file: `${CACHE}/resnet50.onnx`, inputShape: [1, 3, 224, 224], dynamicBatch: true, manifest: 'resnet50',
    stages: { C2: [b, 256, 56, 56], C3: [b, 512, 28, 28], C4: [b, 1024, 14, 14], C5: [b, 2048, 7, 7] }, head: [1000, 2048] },
  { file: `${CACHE}/densenet121.onnx`, inputShape: [1, 3, 224, 224], dynamicBatch: true, manifest: 'densenet121',
    stages: { C2: [b, 256, 56, 56], C3: [b, 512, 28, 28], C4: [b, 1024, 14, 14], C5: [b, 1024, 7, 7] }, head: [1000, 1024] },
  // Dilated: C3…C5 all at stride 8.
  { file: `${CACHE}/fcn_resnet50.onnx`, inputShape: [1, 3, 224, 224], dynamicBatch: true, manifest: 'fcn_resnet50',
    stages: { C2: [b, 256, 56, 56], C3: [b, 512, 28, 28], C4: [b, 1024, 28, 28], C5: [b, 2048, 28, 28] } },
  // One fixed 3x320x320 image; the transform keeps 320 (min_size = max_size = 320).
  { file: `${CACHE}/fasterrcnn_resnet50_fpn.onnx`, inputShape: [3, 320, 320], dynamicBatch: false, manifest: 'fasterrcnn_resnet50_fpn',
    stages: { C2: [1, 256, 80, 80], C3: [1, 512, 40, 40], C4: [1, 1024, 20, 20], C5: [1, 2048, 10, 10] } },
];

export const exportsPresent = EXPORTED_MODELS.every((m) => existsSync(m.file));
export const sidecar = (onnxPath: string) => JSON.parse(readFileSync(onnxPath.replace(/\.onnx$/, '.json'), 'utf8'));
