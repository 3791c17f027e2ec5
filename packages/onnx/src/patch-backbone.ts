import { findBackbone, requireStage, taFor } from '@fsta/backbones';
import { toGraphView } from './graph-view.js';
import { patchModel, type PatchOptions, type PatchResult } from './patch.js';
import type { OnnxModel } from './types.js';

export interface PatchByStageOptions extends Omit<PatchOptions, 'fsStageTensor' | 'taStageTensor' | 'k' | 'head'> {
  /** Manifest name (@fsta/backbones), or 'auto' (default): match a manifest, else detect stages. */
  backbone?: string;
  /** Stage names such as 'C5' / 'C4'; default: the manifest's (or detection's) defaults. */
  fsStage?: string;
  taStage?: string | null;
  k?: number;
}

export interface PatchByStageResult extends PatchResult {
  /** The manifest that matched, or 'auto' for detected stages. */
  backbone: string;
  fsStage: string;
  taStage: string | null;
  k: number;
  /** TA on a signed tensor, or moved to the nearest non-negative tensor of its stage. */
  warnings: string[];
}

/** `patchModel` with stages named as in the manifests (C2…C5) or as tensor names; TA goes where `taFor` says. */
export function patch(model: OnnxModel, options: PatchByStageOptions = {}): PatchByStageResult {
  const { backbone = 'auto', fsStage, taStage, k, ...rest } = options;
  const found = findBackbone(toGraphView(model), backbone);
  const fs = fsStage ?? found.defaults.fsStage;
  const ta = taStage === undefined ? found.defaults.taStage : taStage;
  const kk = k ?? found.defaults.k;
  const taT = ta === null ? null : taFor(found, ta);
  const fsS = requireStage(found, fs);
  const result = patchModel(model, {
    ...rest,
    fsStageTensor: fsS.tensor,
    fsLayout: { layout: fsS.layout, prefixTokens: fsS.prefixTokens },
    ...(taT ? { taLayout: { layout: taT.layout, prefixTokens: taT.prefixTokens } } : {}),
    taStageTensor: taT?.tensor ?? null,
    k: kk,
    ...(found.head ? { head: { penultimate: found.head.penultimate, logits: found.head.logits } } : {}),
  });
  return { ...result, backbone: found.manifest?.name ?? 'auto', fsStage: fs, taStage: ta, k: kk, warnings: taT ? [taT.warning, taT.note].filter((w): w is string => w !== null) : [] };
}
