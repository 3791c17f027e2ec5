import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const shared = `${repo}../shared/`;
export const resnetOnnx = `${shared}models/cifar10-resnet20.onnx`;
export const resnetTfjsDir = `${repo}.cache/tfjs/cifar10-resnet20`;
export const centernetJson = `${shared}models/coco-centernet-tfjs/centernet.json`;
export const nanodetJson = `${shared}models/coco-nanodet-tfjs/nanodet.json`;

/** The tfjs ResNet-20 rebuilt from the ONNX weights into the git-ignored cache (made on first use). */
export async function resnetTfjsModelJson(): Promise<string> {
  const json = `${resnetTfjsDir}/model.json`;
  if (!existsSync(json)) {
    const { convertResnet } = (await import(`${repo}tools/onnx-to-tfjs-resnet.mjs`)) as { convertResnet(a: string, b: string): unknown };
    convertResnet(resnetOnnx, resnetTfjsDir);
  }
  return json;
}

const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];

/** `perClass` lossless CIFAR-10 test PNGs from each class, as 8-bit RGB and as normalized NCHW (per ../shared/README.md). */
export async function cifarImages(perClass: number, classes = 10) {
  const root = `${shared}data/cifar10-test-png-1k/`;
  const files = readdirSync(root).sort().slice(0, classes).flatMap((c) => readdirSync(root + c).sort().slice(0, perClass).map((f) => `${root}${c}/${f}`));
  const pixels: { data: Uint8Array; width: number; height: number; channels: 3 }[] = [];
  const nchw = new Float32Array(files.length * 3 * 32 * 32);
  for (const [n, f] of files.entries()) {
    const { data, info } = await sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.width !== 32 || info.height !== 32 || info.channels !== 3) throw new Error(`${f}: expected 32x32 RGB`);
    pixels.push({ data: new Uint8Array(data), width: 32, height: 32, channels: 3 });
    for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) nchw[(n * 3 + c) * 1024 + i] = (data[i * 3 + c]! / 255 - MEAN[c]!) / STD[c]!;
  }
  return { files, pixels, nchw, shape: [files.length, 3, 32, 32] as const };
}

export const cifarPreprocess = { size: [32, 32] as [number, number], crop: 'none' as const, mean: MEAN, std: STD };
