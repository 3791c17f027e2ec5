import { CALIBRATION_DEFAULTS, FstaError, PAPER_LAMBDA, defaultConfig, parseConfig, preprocessPixels, type FstaConfig } from '@fsta/core';
import { backboneNames } from '@fsta/backbones';
import type { Engine, RuntimeChoice } from './engine.js';
import { calibratePage, checkImportedConfig, idScores, type PageCalibration, type Runner } from './calibrate-page.js';
import { calibrationTables, configSummary, sameSettings } from './calibration-view.js';
import { decodeFile, fileLabel, modelView } from './decode.js';
import { demoSamples, loadDemo, type DemoJson } from './demo-model.js';
import { histogramSvg } from './histogram.js';
import type { ModelSpec } from './model-spec.js';
import { createOrtEngine, wasmRunner } from './ort-engine.js';
import { resultCard, runtimeGroup } from './render.js';
import { loadUserModel } from './user-model.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  runtime: $<HTMLSelectElement>('runtime'),
  status: $('model-status'),
  modelNote: $('model-note'),
  note: $('runtime-note'),
  config: $('config-json'),
  configSource: $('config-source'),
  calibrationView: $('calibration'),
  configFile: $<HTMLInputElement>('config-file'),
  exportConfig: $<HTMLButtonElement>('export-config'),
  queue: $('queue-note'),
  files: $<HTMLInputElement>('image-files'),
  drop: $('dropzone'),
  samples: $<HTMLButtonElement>('samples'),
  clear: $<HTMLButtonElement>('clear'),
  errors: $('errors'),
  results: $('results'),
  batch: $('batch'),
  modelFile: $<HTMLInputElement>('model-file'),
  backbone: $<HTMLSelectElement>('backbone'),
  useDemo: $<HTMLButtonElement>('use-demo'),
  demoExamples: $('demo-examples'),
};

/** One scored image, with the config it was scored with. */
interface Scored { name: string; fs: number; fsTa: number | null; score: number; verdict: 'ID' | 'OOD' | null; config: FstaConfig }
const state: { demo: DemoJson | null; spec: ModelSpec | null; engine: Engine | null; engineRuns: number; calibration: PageCalibration | null; own: PageCalibration | null; scored: Scored[]; busy: Promise<unknown>; queued: number } = {
  demo: null, spec: null, engine: null, engineRuns: 0, calibration: null, own: null, scored: [], busy: Promise.resolve(), queued: 0,
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

const RUNTIME_LABEL: Record<RuntimeChoice, string> = { 'ort-webgpu': 'onnxruntime-web on WebGPU', 'ort-wasm': 'onnxruntime-web on WASM', 'tfjs-webgl': 'TensorFlow.js on WebGL' };

/** Runs `job` with calibration's runner on WASM (calibration belongs to the model, not the runtime: fast and deterministic on any machine). */
async function withWasm<R>(spec: ModelSpec, job: (run: Runner) => Promise<R>): Promise<R> {
  const run = wasmRunner(spec);
  try {
    return await job(run);
  } finally {
    await run.dispose();
  }
}

async function calibrationImages(spec: ModelSpec): Promise<Float32Array[]> {
  return Promise.all(spec.calibrationImages.map(async (rel) => preprocessPixels(await decodeFile(await fetchBlob(rel)), spec.preprocess)));
}

/** Core's calibration, as `fsta calibrate` runs it, where the model brings ID images (the demo); a dropped model gets its backbone's defaults and no threshold. */
async function calibration(spec: ModelSpec): Promise<PageCalibration> {
  if (spec.calibrationImages.length === 0) {
    const config = defaultConfig({
      backbone: spec.name, fsStage: spec.fsStage, taStage: spec.taStage, k: spec.defaultK, featureScore: spec.taStage ? 'fs_ta' : 'fs',
      classifier: spec.head ? 'msp' : null, lambda: spec.head ? PAPER_LAMBDA.msp : 0,
    });
    return { config, id: { fs: [], fsTa: [], score: [] }, choice: null, source: `${spec.name}'s backbone defaults (no ID images to calibrate on; load a config from fsta calibrate for a threshold)` };
  }
  const what = `Calibrating on ${spec.calibrationImages.length} bundled ID images and synthetic ${CALIBRATION_DEFAULTS.syntheticSets.join(' and ')} sets`;
  ui.status.textContent = `${what}…`;
  const started = performance.now();
  const id = await calibrationImages(spec);
  const cal = await withWasm(spec, (run) => calibratePage(spec, id, run, (done, total) => { ui.status.textContent = `${what}: ${Math.round((100 * done) / total)}% of the model runs done…`; }, spec.calibrationGrid));
  return { ...cal, source: `${cal.source}, in ${((performance.now() - started) / 1000).toFixed(0)} s` };
}

/** A config file from `fsta calibrate`: checked against the model, then used on every runtime. */
async function importConfig(file: File): Promise<void> {
  const spec = state.spec;
  ui.errors.replaceChildren();
  if (!spec) throw new FstaError('NO_MODEL', 'no model is loaded to use the config with', 'wait for the model to load, then load the config');
  const text = await file.text();
  const config: FstaConfig = checkImportedConfig(parseConfig(text), spec);
  ui.status.textContent = `Scoring the calibration images with ${file.name}…`;
  const id = spec.calibrationImages.length ? await withWasm(spec, async (run) => idScores(await calibrationImages(spec), config, run)) : { fs: [], fsTa: [], score: [] };
  const previous = state.calibration;
  state.calibration = { config, id, choice: null, source: `loaded from ${file.name}` };
  try {
    await openEngine();
  } catch (e) {
    // A config that fails to start keeps nothing of itself: the previous settings come back.
    state.calibration = previous;
    await openEngine().catch(() => undefined);
    throw e;
  }
}

function showCalibration(cal: PageCalibration): void {
  ui.exportConfig.disabled = false;
  ui.config.textContent = JSON.stringify(cal.config, null, 2);
  ui.configSource.textContent = `Settings ${cal.source}.`;
  if (cal.choice) return ui.calibrationView.replaceChildren(...calibrationTables(cal.choice));
  // A config from a file, or a model's defaults: what it sets, and whether the page's own calibration chose the same.
  const p = document.createElement('p');
  p.className = 'why';
  p.id = 'config-summary';
  const own = state.own?.config;
  const versus = !own ? '' : sameSettings(cal.config, own) ? ' These are the settings the page calibrated here.' : ` The page calibrated here chose otherwise: ${configSummary(own)}.`;
  p.textContent = `In use: ${configSummary(cal.config, cal.id.score)}.${versus}`;
  ui.calibrationView.replaceChildren(p);
}

async function openEngine(): Promise<void> {
  const spec = state.spec;
  if (!spec) return;
  const choice = ui.runtime.value as RuntimeChoice;
  await state.engine?.dispose();
  state.engine = null;
  ui.note.hidden = true;
  ui.status.dataset.runtime = '';
  if (!state.calibration) {
    state.calibration = await calibration(spec);
    state.own = state.calibration.choice ? state.calibration : null;
  }
  const config = state.calibration.config;
  showCalibration(state.calibration);
  ui.status.textContent = `Starting ${RUNTIME_LABEL[choice]}…`;
  let engine: Engine;
  if (choice === 'tfjs-webgl') {
    // Loaded on demand: the tfjs bundle is only fetched by those who pick it.
    const { createTfjsEngine } = await import('./tfjs-engine.js');
    engine = await createTfjsEngine(spec, config);
  } else {
    engine = await createOrtEngine(spec, config, choice === 'ort-webgpu' ? 'webgpu' : 'wasm');
  }
  state.engine = engine;
  state.engineRuns = 0;
  ui.status.textContent = `Model: ${spec.name} · Runtime in use: ${engine.runtime}`;
  ui.status.dataset.runtime = engine.runtime;
  if (engine.note) {
    ui.note.textContent = engine.note;
    ui.note.hidden = false;
  }
  renderBatch();
}

/** TensorFlow.js runs a model's tfjs twin; a model without one (the bundled MobileNetV2, a dropped model) is not offered it. */
function tfjsOffered(spec: ModelSpec): void {
  const option = ui.runtime.querySelector<HTMLOptionElement>('option[value="tfjs-webgl"]')!;
  option.disabled = !spec.tfjs;
  option.textContent = spec.tfjs ? 'TensorFlow.js · WebGL' : 'TensorFlow.js · WebGL (needs a tfjs version of the model; this one has none)';
  if (!spec.tfjs && ui.runtime.value === 'tfjs-webgl') ui.runtime.value = 'ort-wasm';
}

/** A new model replaces the old one only once it has loaded and started; until then the old one keeps working. */
async function useModel(load: () => Promise<{ spec: ModelSpec; about: DemoJson | null }>): Promise<void> {
  const previous = { spec: state.spec, calibration: state.calibration, own: state.own, demo: state.demo };
  try {
    const { spec, about } = await load();
    state.spec = spec;
    state.demo = about;
    state.calibration = null;
    state.own = null;
    tfjsOffered(spec);
    // Shown while it calibrates: the buttons' images wait their turn.
    showDemoExamples(about);
    await openEngine();
    ui.modelNote.textContent = state.spec.note ?? '';
    ui.modelNote.hidden = !state.spec.note;
    ui.results.replaceChildren();
    state.scored = [];
    renderBatch();
    ui.results.dataset.count = '0';
  } catch (e) {
    Object.assign(state, previous);
    if (state.spec) tfjsOffered(state.spec);
    showDemoExamples(state.demo);
    if (state.spec) await openEngine().catch(() => undefined);
    if (state.spec) ui.status.textContent = `Still using ${state.spec.name} · Runtime in use: ${state.engine?.runtime ?? 'none'}`;
    throw e;
  }
}

async function fetchBlob(rel: string): Promise<File> {
  const r = await fetch(`./demo/${rel}`);
  if (!r.ok) throw new FstaError('DEMO_MISSING', `bundled sample ${rel} is missing`, 'rebuild the page with the demo assets');
  return new File([await r.blob()], rel.replace(/^images\//, ''), { type: /\.jpe?g$/i.test(rel) ? 'image/jpeg' : 'image/png' });
}

async function scoreFiles(files: readonly File[]): Promise<void> {
  ui.errors.replaceChildren();
  const engine = state.engine;
  if (!engine) {
    showError(new FstaError('NO_RUNTIME', 'no runtime is active for this model', 'pick a runtime under "Runtime"'));
    return;
  }
  const group = runtimeGroup(ui.results, engine.runtime);
  for (const file of files) {
    try {
      const pixels = await decodeFile(file);
      const chw = preprocessPixels(pixels, engine.preprocess);
      const [r] = await engine.inspect([chw]);
      // The first run of a fresh session also compiles kernels (WebGPU shaders, WebGL programs): its time is not the steady one.
      const warmUp = state.engineRuns++ === 0;
      group.append(resultCard(file.name, modelView(chw, engine.preprocess), r!, engine.classes, engine.config.threshold, engine.config.classifier, engine.runtime, warmUp));
      state.scored.push({ name: file.name, fs: r!.score.fs, fsTa: r!.score.fsTa, score: r!.score.score, verdict: r!.score.verdict, config: engine.config });
    } catch (e) {
      // Decoding's messages name the file already.
      showError(e, e instanceof FstaError && e.message.startsWith(fileLabel(file)) ? undefined : file.name);
    }
  }
  renderBatch();
  ui.results.dataset.count = String(ui.results.querySelectorAll('li.card').length);
}

/** Images given while the page is busy (loading, calibrating, switching runtime) wait their turn, and the page says so. */
function queueImages(files: readonly File[]): Promise<void> {
  const waiting = document.body.dataset.busy === 'true';
  if (waiting) {
    state.queued += files.length;
    ui.queue.textContent = `${state.queued} image${state.queued === 1 ? '' : 's'} waiting: ${ui.status.textContent?.replace(/…$/, '') ?? 'the model is busy'}; they are scored as soon as it is ready.`;
    ui.queue.hidden = false;
  }
  return serial(async () => {
    if (waiting) {
      state.queued -= files.length;
      if (state.queued === 0) ui.queue.hidden = true;
    }
    await scoreFiles(files);
  });
}

function renderBatch(): void {
  const cal = state.calibration;
  if (!cal) return;
  const mine = state.scored.filter((s) => s.config === cal.config);
  const fig = (title: string, cal: number[], dropped: number[], threshold: number | null) => {
    const f = document.createElement('figure');
    f.innerHTML = histogramSvg(title, [{ label: 'calibration ID', values: cal, color: '#2a7ab0' }, { label: 'your images', values: dropped, color: '#d9480f' }], threshold);
    const cap = document.createElement('figcaption');
    cap.textContent = title;
    f.append(cap);
    return f;
  };
  const c = cal.config;
  // With plain FS and no fusion the score compared with the threshold is FS: one histogram, not two alike.
  const plain = c.featureScore === 'fs' && (c.classifier === null || c.lambda === 0);
  const figures = [fig(plain ? 'FS, the score compared with the threshold (dashed)' : 'Fused score (threshold dashed)', cal.id.score, mine.map((s) => s.score), c.threshold)];
  const fsTa = mine.flatMap((s) => (s.fsTa === null ? [] : [s.fsTa]));
  if (cal.id.fsTa.length || fsTa.length) figures.push(fig('FS+TA', cal.id.fsTa.filter(Number.isFinite), fsTa, null));
  if (!plain) figures.push(fig('FS', cal.id.fs, mine.map((s) => s.fs), null));
  ui.batch.replaceChildren(...demoTally(mine, c), ...figures);
}

/**
 * For the bundled demo's images: how many of each set the verdict accepted or flagged under
 * the settings in use, beside the set's role (photos ID, textures where FS works, drawings where it does not).
 */
function demoTally(mine: readonly Scored[], config: FstaConfig): HTMLElement[] {
  const demo = state.demo;
  if (!demo || config.threshold === null) return [];
  const groups = [
    { prefix: 'id/', label: 'Photos (ID)', want: 'ID' as const },
    ...demo.sets.map((s) => ({ prefix: `ood/${s.name}/`, label: `${s.name[0]!.toUpperCase()}${s.name.slice(1)} (OOD, ${s.role === 'works' ? 'where FS works' : 'where it does not'})`, want: 'OOD' as const })),
  ];
  const rows = groups.flatMap((g) => {
    const of = mine.filter((s) => s.name.startsWith(g.prefix));
    if (!of.length) return [];
    const hit = of.filter((s) => s.verdict === g.want).length;
    const li = document.createElement('li');
    li.dataset.set = g.prefix.split('/').slice(-2, -1)[0] ?? '';
    li.textContent = `${g.label}: ${hit} of ${of.length} ${g.want === 'ID' ? 'accepted as ID' : 'flagged OOD'}`;
    return [li];
  });
  if (!rows.length) return [];
  const box = document.createElement('div');
  box.id = 'demo-tally';
  const head = document.createElement('p');
  head.textContent = `The bundled images scored with the settings in use (threshold ${Number(config.threshold.toPrecision(4))}):`;
  const list = document.createElement('ul');
  list.append(...rows);
  box.append(head, list);
  return [box];
}

ui.files.addEventListener('change', () => {
  const files = [...(ui.files.files ?? [])];
  void queueImages(files).finally(() => { ui.files.value = ''; });
});
ui.drop.addEventListener('dragover', (e) => { e.preventDefault(); ui.drop.classList.add('over'); });
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  const files = Array.from(e.dataTransfer?.files ?? []);
  // A dropped .onnx is a model, not an image.
  const model = files.find((f) => f.name.toLowerCase().endsWith('.onnx'));
  if (model) void serial(() => useUserModel(model)).catch((err) => showError(err, 'Model'));
  const images = files.filter((f) => f !== model);
  if (images.length) void queueImages(images);
});
/** `n` files of a bundled folder, spread over it (the same ones every time). */
const spread = (dir: string, n: number) => demoSamples.filter((s) => s.startsWith(dir)).filter((_, i, a) => i % Math.max(1, Math.floor(a.length / n)) === 0).slice(0, n);
const scoreBundled = (files: readonly string[]) => void Promise.all(files.map(fetchBlob)).then(queueImages, (e) => showError(e, 'Samples'));

ui.samples.addEventListener('click', () => {
  // A few of each kind: ID photos and every OOD set of the demo.
  const sets = state.demo?.sets.map((s) => s.name) ?? [];
  scoreBundled(['images/id/', ...sets.map((n) => `images/ood/${n}/`)].flatMap((p) => spread(p, 3)));
});

const ROLE: Record<DemoJson['sets'][number]['role'], string> = { works: 'Where FS works', limit: 'Where it does not' };

/** The demo's OOD sets, each with why FS does well or badly on it (demo.json, the text `fsta demo` prints) and a button that scores three of its images. */
function showDemoExamples(demo: DemoJson | null): void {
  ui.demoExamples.hidden = !demo;
  if (!demo) return ui.demoExamples.replaceChildren();
  const list = document.createElement('ul');
  const item = (label: string, text: string, dir: string, button: string, set: string) => {
    const li = document.createElement('li');
    li.dataset.set = set;
    const b = document.createElement('b');
    b.textContent = `${label}: `;
    const go = document.createElement('button');
    go.type = 'button';
    go.textContent = button;
    go.addEventListener('click', () => scoreBundled(spread(dir, 3)));
    li.append(b, text + ' ', go);
    return li;
  };
  list.append(
    item('In-distribution', 'photographs of animals, fish, household things and monuments; the model should find them familiar.', 'images/id/', 'Score 3 photos', 'id'),
    ...demo.sets.map((s) => item(`${ROLE[s.role]} (${s.name})`, s.why, `images/ood/${s.name}/`, `Score 3 ${s.name}`, s.name)),
  );
  const head = document.createElement('p');
  head.textContent = `The bundled demo, as npm run demo runs it: ${demo.title}.`;
  ui.demoExamples.replaceChildren(head, list);
}

ui.clear.addEventListener('click', () => {
  ui.results.replaceChildren();
  ui.errors.replaceChildren();
  state.scored = [];
  renderBatch();
});
ui.configFile.addEventListener('change', () => {
  const file = ui.configFile.files?.[0];
  if (file) void serial(() => importConfig(file)).catch((e) => showError(e, `Config ${file.name}`)).finally(() => { ui.configFile.value = ''; });
});
ui.exportConfig.addEventListener('click', () => {
  const cal = state.calibration;
  if (!cal) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([JSON.stringify(cal.config, null, 2) + '\n'], { type: 'application/json' }));
  a.download = 'fsta.config.json';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});
ui.runtime.addEventListener('change', () => void serial(openEngine).catch((e) => showError(e, 'Runtime')));

async function useUserModel(file: File): Promise<void> {
  ui.errors.replaceChildren();
  ui.status.textContent = `Patching ${file.name} (backbone: ${ui.backbone.value})…`;
  await useModel(async () => ({ spec: loadUserModel(new Uint8Array(await file.arrayBuffer()), file.name, ui.backbone.value), about: null }));
}
for (const name of ['auto', ...backboneNames()]) ui.backbone.add(new Option(name === 'auto' ? 'auto (detect)' : name, name));
ui.modelFile.addEventListener('change', () => {
  const file = ui.modelFile.files?.[0];
  if (file) void serial(() => useUserModel(file)).catch((e) => showError(e, 'Model')).finally(() => { ui.modelFile.value = ''; });
});
ui.useDemo.addEventListener('click', () => void serial(() => { ui.errors.replaceChildren(); return useModel(loadDemo); }).catch((e) => showError(e, 'Model')));

// WebGPU by default where the browser has it (the engine falls back to WASM with a note otherwise);
// ?runtime=ort-wasm (or another option's value) picks one for a link.
const asked = new URLSearchParams(location.search).get('runtime');
const offered = [...ui.runtime.options].map((o) => o.value);
ui.runtime.value = 'gpu' in navigator ? 'ort-webgpu' : 'ort-wasm';
if (asked !== null) {
  if (offered.includes(asked)) ui.runtime.value = asked;
  else showError(new FstaError('BAD_OPTION', `the link asks for runtime "${asked}", which this page does not have`, `use ?runtime= with one of ${offered.join(', ')}`), 'Runtime');
}
void serial(async () => {
  await useModel(loadDemo);
  document.body.dataset.ready = 'true';
}).catch((e) => {
  ui.status.textContent = 'The model could not be loaded.';
  showError(e, 'Model');
  document.body.dataset.ready = 'error';
});
