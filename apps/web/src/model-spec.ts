import type { PreprocessSpec } from '@fsta/core';
import type { OnnxModel } from '@fsta/onnx';
import type { CalibrationGrid } from './calibrate-page.js';

/** What the page knows about a model: its graph, stage and head tensors, preprocessing. */
export interface ModelSpec {
  name: string;
  model: OnnxModel;
  input: string;
  /** Stage name (C2…C5) → tensor name, as a backbone manifest or demo.json gives them. */
  stages: Readonly<Record<string, string>>;
  fsStage: string;
  /** The TA stage, or null where the model has no stage before the FS stage. */
  taStage: string | null;
  /** k to use when there are no ID images to calibrate on (the backbone's default). */
  defaultK: number;
  head: { penultimate: string; logits: string } | null;
  preprocess: PreprocessSpec;
  chw: readonly [number, number, number];
  classes: readonly string[] | null;
  /** The same network as a tfjs LayersModel (converted at build time), with its stage layer names. */
  tfjs: { url: string; stages: Readonly<Record<string, string>>; logits: string } | null;
  /** ID images to calibrate on (URLs under ./demo/), empty for a dropped model. */
  calibrationImages: readonly string[];
  /** The candidates calibration compares ({}: `fsta calibrate`'s defaults). */
  calibrationGrid: CalibrationGrid;
  /** Something the user should know about how the model was read (e.g. guessed preprocessing). */
  note: string | null;
}
