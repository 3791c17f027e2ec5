import { FstaError } from '@fsta/core';
import type { CalibrationGrid } from './calibrate-page.js';
import type { ModelSpec } from './model-spec.js';
import { loadUserModel } from './user-model.js';

/** One OOD set of the demo and why FS does well or badly on it (demo.json: the text `fsta demo` prints too). */
export interface DemoSet { name: string; role: 'works' | 'limit'; why: string }

/** apps/cli/assets/photo-demo/demo.json: what the demo shows, shared with `fsta demo`. */
export interface DemoJson {
  title: string;
  backbone: string;
  calibration: Required<CalibrationGrid>;
  sets: DemoSet[];
}

declare const __DEMO_SAMPLES__: string[];
/** Bundled images, relative to ./demo/ (listed at build time). */
export const demoSamples: readonly string[] = __DEMO_SAMPLES__;

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new FstaError('DEMO_MISSING', `the bundled demo file ${url} is missing (HTTP ${r.status})`, 'run the page from a full checkout (apps/cli/assets/photo-demo, made by tools/make_photo_demo.py), then rebuild it');
  return r;
}

/**
 * The model's class names (classes.json beside it), or null where the folder has none
 * (FSTA_DEMO_DIR may point at another model): cards then show class indices.
 */
async function demoClasses(): Promise<string[] | null> {
  const r = await fetch('./demo/classes.json');
  if (r.status === 404) return null;
  if (!r.ok) throw new FstaError('DEMO_MISSING', `the bundled demo file ./demo/classes.json could not be read (HTTP ${r.status})`, 'run the page from a full checkout, then rebuild it');
  const names: unknown = await r.json();
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new FstaError('BAD_DEMO', 'the bundled demo file ./demo/classes.json is not a list of class names', 'regenerate it with tools/make_photo_demo.py');
  return names as string[];
}

/** The bundled demo and what it shows. */
export interface Demo { spec: ModelSpec; about: DemoJson | null }

/**
 * `fsta demo`'s model (ImageNet MobileNetV2, int8 weights) read as the CLI reads it:
 * @fsta/backbones' manifest for demo.json's backbone gives stages, head and
 * preprocessing (shorter side 256, centre crop 224, ImageNet mean/std), through the
 * same code as a dropped model. It calibrates on every bundled ID photo, as `fsta demo` does.
 */
export async function loadDemo(): Promise<Demo> {
  const about = (await (await fetchOk('./demo/demo.json')).json()) as DemoJson;
  const bytes = new Uint8Array(await (await fetchOk('./demo/model.onnx')).arrayBuffer());
  const spec = loadUserModel(bytes, 'model.onnx', about.backbone);
  const classes = await demoClasses();
  return {
    // The backbone's name, as the CLI writes it into the config (a config's backbone is a manifest name).
    spec: { ...spec, classes, name: about.backbone, calibrationImages: demoSamples.filter((s) => s.startsWith('images/id/')), calibrationGrid: about.calibration, note: null },
    about,
  };
}
