import sharp from 'sharp';
import { featureSimMap, fitGmm2, gmmScoreOf, referenceOps, stackBatch } from '@fsta/core';
import type { FeatureMap, Gmm2, PreprocessSpec } from '@fsta/core';
import type { Engine } from './open-detector.js';

/** A 2-D map, row-major. Token features (B, C, L) become one row of L. */
export interface Grid {
  height: number;
  width: number;
  values: number[];
}

/** What the report shows for one sample image: the paper's Fig. 1 maps and Fig. 3 GMM. */
export interface SampleMaps {
  /** 'ID' or the OOD set's name. */
  set: string;
  file: string;
  /** The network input as the model sees it (resized, cropped), as a data: URL PNG. */
  image: string;
  fs: number;
  fsTa: number | null;
  /** |f − GAP(f)| averaged over channels at the FS stage, original pass. Its mean is `fs`. */
  map: Grid;
  /** The same on the TA pass's FS-stage map. Its mean is `fsTa`. */
  taMap: Grid | null;
  /** Per-channel GAP of the FS-stage map: the values the GMM score is fitted on. */
  channelMeans: number[];
  gmm: Gmm2;
  gmmScore: number;
}

/** `count` indices spread evenly over n items (the middles of equal slices), so the picks do not all come from one class folder. */
export function spreadPicks(n: number, count: number): number[] {
  const picks = Array.from({ length: Math.min(n, count) }, (_, j) => Math.floor(((j + 0.5) * n) / Math.min(n, count)));
  return [...new Set(picks)];
}

/** The normalized CHW input back to 8-bit RGB HWC, so the shown image is exactly the model's input. */
function inputPixels(chw: Float32Array, h: number, w: number, spec: PreprocessSpec): Buffer {
  const out = Buffer.alloc(h * w * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h * w; i++) {
      const v = (chw[c * h * w + i]! * spec.std[c]! + spec.mean[c]!) * 255;
      out[i * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

/** Displayed at about `side` pixels on the long edge; small inputs are scaled by whole pixels so they stay sharp. */
async function pngDataUrl(rgb: Buffer, h: number, w: number, side: number): Promise<string> {
  const scale = Math.max(h, w) <= side / 2 ? Math.floor(side / Math.max(h, w)) : side / Math.max(h, w);
  const png = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .resize(Math.round(w * scale), Math.round(h * scale), { kernel: scale >= 1 ? 'nearest' : 'lanczos3' })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** |f − GAP(f)| averaged over channels, for one image's [1, C, …] map (core's featureSimMap). */
function grid(map: FeatureMap): Grid {
  const m = featureSimMap(referenceOps, referenceOps.fromArray(map.data, map.shape));
  const [, ...spatial] = m.shape;
  const [height, width] = spatial.length === 2 ? spatial : [1, spatial[0]!];
  return { height: height!, width: width!, values: Array.from(m.data) };
}

function channelMeans(map: FeatureMap): number[] {
  const c = map.shape[1]!;
  return Array.from(referenceOps.mean(referenceOps.fromArray(map.data, [1, c, map.data.length / c]), [2]).data);
}

/**
 * Runs a few images through the detector once more (one batch) to get their feature
 * maps, which the full eval does not keep. The TA maps are those of the engine's first k.
 */
export async function sampleMaps(engine: Engine, picks: readonly { set: string; file: string }[], displaySide = 96): Promise<SampleMaps[]> {
  if (picks.length === 0) return [];
  const { detector } = engine;
  const spec = detector.preprocess;
  const [, h, w] = detector.chw;
  const inputs = await Promise.all(picks.map((p, i) => detector.prepare(p.file, i)));
  const scores = await detector.score({ data: stackBatch(inputs, detector.chw).data, shape: [picks.length, ...detector.chw] }, { include: ['stages'] });
  return Promise.all(picks.map(async (p, i) => {
    const s = scores[i]!;
    const stages = s.features!.stages!;
    const gaps = channelMeans(stages.fs);
    const gmm = fitGmm2(gaps);
    const taMap = engine.hasTa ? stages.fsTa[0]! : null;
    return {
      set: p.set, file: p.file,
      image: await pngDataUrl(inputPixels(inputs[i]!, h, w, spec), h, w, displaySide),
      fs: s.fs, fsTa: engine.hasTa ? s.fsTa : null,
      map: grid(stages.fs), taMap: taMap ? grid(taMap) : null,
      channelMeans: gaps, gmm, gmmScore: gmmScoreOf(gmm),
    };
  }));
}
