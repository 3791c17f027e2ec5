import { FstaError, defaultConfig, preprocessPixels } from '@fsta/core';
import type { RuntimeChoice } from './engine.js';
import { calibratePage, type PageCalibration } from './calibrate-page.js';
import { decodeImageFile, modelView } from './decode.js';
import { demoSamples, loadDemo } from './demo-model.js';
import { histogramSvg } from './histogram.js';
import { createOrtEngine, type ModelSpec, type OrtEngine } from './ort-engine.js';
import { resultCard } from './render.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  runtime: $<HTMLSelectElement>('runtime'),
  status: $('model-status'),
  note: $('runtime-note'),
  config: $('config-json'),
  files: $<HTMLInputElement>('image-files'),
  drop: $('dropzone'),
  samples: $<HTMLButtonElement>('samples'),
  clear: $<HTMLButtonElement>('clear'),
  errors: $('errors'),
  results: $<HTMLOListElement>('results'),
  batch: $('batch'),
  modelFile: $<HTMLInputElement>('model-file'),
  backbone: $<HTMLSelectElement>('backbone'),
  useDemo: $<HTMLButtonElement>('use-demo'),
};

interface Scored { name: string; fs: number; fsTa: number | null; score: number }
const state: { spec: ModelSpec | null; engine: OrtEngine | null; calibration: PageCalibration | null; scored: Scored[]; busy: Promise<unknown> } = {
  spec: null, engine: null, calibration: null, scored: [], busy: Promise.resolve(),
};

/** Serializes user actions, so a runtime switch never races a scoring run. */
const serial = <R>(job: () => Promise<R>): Promise<R> => {
  document.body.dataset.busy = 'true';
  const next = state.busy.then(job, job);
  state.busy = next.catch(() => undefined);
  void state.busy.then(() => { if (state.busy === settled) document.body.dataset.busy = 'false'; });
  const settled = state.busy;
  return next;
};

function showError(e: unknown, context?: string): void {
  const p = document.createElement('p');
  const msg = e instanceof FstaError ? e.message : `Something went wrong: ${(e as Error)?.message ?? String(e)}`;
  p.textContent = context ? `${context}: ${msg}` : msg;
  p.dataset.code = e instanceof FstaError ? e.code : 'ERROR';
  ui.errors.append(p);
}

const TFJS_NOTE = 'TensorFlow.js (WebGL) runs TensorFlow.js models (model.json); this page loads ONNX models, which onnxruntime-web runs. Converting ONNX to TensorFlow.js is not done here, so pick an onnxruntime-web runtime.';

async function openEngine(): Promise<void> {
  const spec = state.spec;
  if (!spec) return;
  const choice = ui.runtime.value as RuntimeChoice;
  await state.engine?.dispose();
  state.engine = null;
  ui.note.hidden = true;
  ui.status.dataset.runtime = '';
  if (choice === 'tfjs-webgl') {
    ui.status.textContent = 'No runtime active: TensorFlow.js cannot run this ONNX model.';
    ui.status.dataset.runtime = 'none';
    ui.note.textContent = TFJS_NOTE;
    ui.note.hidden = false;
    return;
  }
  if (!state.calibration) {
    // Calibration belongs to the model, not the runtime: run it once on WASM (fast and deterministic on any machine).
    ui.status.textContent = `Calibrating on ${demoSamples.filter((s) => s.startsWith('images/id/')).length} bundled ID images and synthetic noise…`;
    const cal = await createOrtEngine(spec, defaultConfig(), 'wasm');
    try {
      const id = await Promise.all(demoSamples.filter((s) => s.startsWith('images/id/')).map(async (rel) => preprocessPixels(await decodeImageFile(await fetchBlob(rel)), spec.preprocess)));
      state.calibration = await calibratePage(spec, id, (samples, config) => cal.runStages(samples, config));
    } finally {
      await cal.dispose();
    }
    ui.config.textContent = JSON.stringify(state.calibration.config, null, 2);
  }
  ui.status.textContent = `Starting ${choice === 'ort-webgpu' ? 'WebGPU' : 'WASM'}…`;
  const engine = await createOrtEngine(spec, state.calibration.config, choice === 'ort-webgpu' ? 'webgpu' : 'wasm');
  state.engine = engine;
  engine.config = state.calibration.config;
  ui.status.textContent = `Model: ${(spec as { name?: string }).name ?? 'your model'} · Runtime in use: ${engine.runtime}`;
  ui.status.dataset.runtime = engine.runtime;
  if (engine.note) {
    ui.note.textContent = engine.note;
    ui.note.hidden = false;
  }
  renderBatch();
}

async function fetchBlob(rel: string): Promise<File> {
  const r = await fetch(`./demo/${rel}`);
  if (!r.ok) throw new FstaError('DEMO_MISSING', `bundled sample ${rel} is missing`, 'rebuild the page with the demo assets');
  return new File([await r.blob()], rel.replace(/^images\//, ''), { type: 'image/png' });
}

async function scoreFiles(files: readonly File[]): Promise<void> {
  ui.errors.replaceChildren();
  const engine = state.engine;
  if (!engine) {
    showError(new FstaError('NO_RUNTIME', 'no runtime is active for this model', 'pick onnxruntime-web WebGPU or WASM under "Runtime"'));
    return;
  }
  for (const file of files) {
    try {
      const pixels = await decodeImageFile(file);
      const chw = preprocessPixels(pixels, engine.preprocess);
      const [r] = await engine.inspect([chw]);
      ui.results.append(resultCard(file.name, modelView(chw, engine.preprocess), r!, engine.classes, engine.config.threshold, engine.config.classifier));
      state.scored.push({ name: file.name, fs: r!.score.fs, fsTa: r!.score.fsTa, score: r!.score.score });
    } catch (e) {
      showError(e, file.name);
    }
  }
  renderBatch();
  ui.results.dataset.count = String(ui.results.children.length);
}

function renderBatch(): void {
  const cal = state.calibration;
  if (!cal) return;
  const mine = state.scored;
  const fig = (title: string, cal: number[], dropped: number[], threshold: number | null) => {
    const f = document.createElement('figure');
    f.innerHTML = histogramSvg(title, [{ label: 'calibration ID', values: cal, color: '#2a7ab0' }, { label: 'your images', values: dropped, color: '#d9480f' }], threshold);
    const cap = document.createElement('figcaption');
    cap.textContent = title;
    f.append(cap);
    return f;
  };
  ui.batch.replaceChildren(
    fig(`Fused score (threshold dashed)`, cal.id.score, mine.map((s) => s.score), cal.config.threshold),
    fig('FS+TA', cal.id.fsTa.filter(Number.isFinite), mine.flatMap((s) => (s.fsTa === null ? [] : [s.fsTa])), null),
    fig('FS', cal.id.fs, mine.map((s) => s.fs), null),
  );
}

ui.files.addEventListener('change', () => {
  const files = [...(ui.files.files ?? [])];
  void serial(() => scoreFiles(files)).finally(() => { ui.files.value = ''; });
});
ui.drop.addEventListener('dragover', (e) => { e.preventDefault(); ui.drop.classList.add('over'); });
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  const files = Array.from(e.dataTransfer?.files ?? []);
  void serial(() => scoreFiles(files));
});
ui.samples.addEventListener('click', () => {
  // A few of each kind: ID classes, MNIST digits, noise.
  const pick = ['images/id/', 'images/ood/mnist/', 'images/ood/gaussian/', 'images/ood/uniform/'].flatMap((p) => demoSamples.filter((s) => s.startsWith(p)).filter((_, i, a) => i % Math.max(1, Math.floor(a.length / 3)) === 0).slice(0, 3));
  void serial(async () => scoreFiles(await Promise.all(pick.map(fetchBlob))));
});
ui.clear.addEventListener('click', () => {
  ui.results.replaceChildren();
  ui.errors.replaceChildren();
  state.scored = [];
  renderBatch();
});
ui.runtime.addEventListener('change', () => void serial(openEngine).catch((e) => showError(e, 'Runtime')));
// Loading your own ONNX (patched in the page with @fsta/onnx) waits for the patcher's browser API; until then the row is hidden, not shown disabled.
ui.modelFile.closest('.row')!.setAttribute('hidden', '');

// WebGPU by default where the browser has it; the engine falls back to WASM with a note otherwise.
ui.runtime.value = 'gpu' in navigator ? 'ort-webgpu' : 'ort-wasm';
void serial(async () => {
  state.spec = await loadDemo();
  await openEngine();
  document.body.dataset.ready = 'true';
}).catch((e) => {
  ui.status.textContent = 'The model could not be loaded.';
  showError(e, 'Model');
  document.body.dataset.ready = 'error';
});
