import { FstaError } from './errors.js';
import { ASH_DEFAULTS, ASH_VARIANTS, type AshVariant } from './ash.js';
import { SCALE_DEFAULT_PERCENTILE } from './scale.js';

/** Classifier scores that can be fused with a feature-map score. */
export type ClassifierScoreName = 'msp' | 'maxlogit' | 'energy' | 'odin' | 'gradnorm' | 'react' | 'ash' | 'dice' | 'scale' | 'fdbd';
export const CLASSIFIER_SCORE_NAMES: readonly ClassifierScoreName[] = ['msp', 'maxlogit', 'energy', 'odin', 'gradnorm', 'react', 'ash', 'dice', 'scale', 'fdbd'];

/**
 * The settings a detector runs with, as written by calibration (`fsta calibrate`)
 * and read by every adapter and the CLI. Scores follow one convention everywhere:
 * higher means more in-distribution, and an image is ID when score ≥ threshold.
 */
export interface FstaConfig {
  version: 1;
  /** Manifest name (`@fsta/backbones`), or 'auto' for automatic stage detection. */
  backbone: string;
  /** Stage whose feature map FS is taken on, e.g. 'C5'. */
  fsStage: string;
  /** Stage where TA is applied, e.g. 'C4'; null disables TA. */
  taStage: string | null;
  /** TA threshold in activation units. */
  k: number;
  /** When set, k was derived as this percentile of ID activations at the TA stage. */
  kPercentile?: number;
  /** Which feature score the fused score starts from. */
  featureScore: 'fs' | 'fs_ta';
  /** Classifier score fused in (S = S_feat + λ·S_cls), or null for the feature score alone. */
  classifier: ClassifierScoreName | null;
  lambda: number;
  /** Temperature for energy / ODIN-style scaling. */
  temperature: number;
  /**
   * ASH's setting, read when classifier is 'ash'; absent: ASH_DEFAULTS (ASH-S at the 90th
   * percentile), what `fsta eval` scores. `fsta calibrate` writes it for an ASH fusion.
   */
  ash?: { variant: AshVariant; percentile: number };
  /** SCALE's setting, read when classifier is 'scale'; absent: the 85th percentile (the authors'). */
  scale?: { percentile: number };
  /** Decision threshold on the fused score; null until calibrated. */
  threshold: number | null;
  /** The ID true-positive rate the threshold was set at. */
  targetTpr: number | null;
  /** Free-form record of how the values were chosen (for humans and reports). */
  provenance?: Record<string, unknown>;
}

export const defaultConfig = (overrides: Partial<FstaConfig> = {}): FstaConfig => ({
  version: 1,
  backbone: 'auto',
  fsStage: 'C5',
  taStage: 'C4',
  k: 0.5,
  featureScore: 'fs_ta',
  classifier: null,
  lambda: 0,
  temperature: 1,
  threshold: null,
  targetTpr: null,
  ...overrides,
});

/** The fields every config that `fsta calibrate` writes has (null where the field allows it). */
export const REQUIRED_CONFIG_FIELDS = ['version', 'backbone', 'fsStage', 'taStage', 'k', 'featureScore', 'classifier', 'lambda', 'temperature', 'threshold', 'targetTpr'] as const;

const notAConfig = (what: string, fix = 'pass the file written by `fsta calibrate`') => new FstaError('NOT_A_CONFIG', `this is ${what}, not an fsta config`, fix);

/** A field value for a message: short, and safe for any JSON (String() throws on {"toString": 1}). */
function show(v: unknown): string {
  let s: string | undefined;
  try { s = JSON.stringify(v); } catch { /* cyclic or hostile object */ }
  if (s === undefined) return typeof v;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** JSON that fsta itself writes for other purposes, recognised by its keys. */
function foreignKind(o: Record<string, unknown>): FstaError | null {
  const has = (...keys: string[]) => keys.every((k) => Object.prototype.hasOwnProperty.call(o, k));
  if (has('settings', 'results')) return notAConfig('an fsta eval results file (it has "settings" and "results")', 'run `fsta calibrate` to write a config, and pass that file');
  if (has('file') && (has('verdict') || has('score') || has('error'))) return notAConfig('a line of `fsta score --json` output', 'pass the file written by `fsta calibrate`');
  if (has('preprocess') && (has('stages') || has('input'))) return notAConfig('a backbone manifest (it has "preprocess" and "stages")', 'pass it as --manifest, and the file written by `fsta calibrate` as --config');
  return null;
}

/**
 * Parses and validates a config (from JSON text or an object), with a clear error per
 * bad field. Every field a calibrated config has must be present: `{}` or another
 * JSON file is refused rather than silently read as the defaults.
 */
export function parseConfig(input: string | unknown): FstaConfig {
  let obj: unknown = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw new FstaError('BAD_CONFIG', `config is not valid JSON (${(e as Error).message})`, 'pass the file written by `fsta calibrate`');
    }
  }
  if (Array.isArray(obj)) throw notAConfig(`a JSON array of ${obj.length} item${obj.length === 1 ? '' : 's'}`);
  if (obj === null || typeof obj !== 'object') throw notAConfig(obj === null ? 'JSON null' : `a JSON ${typeof obj}`);
  const o = obj as Record<string, unknown>;
  const foreign = foreignKind(o);
  if (foreign) throw foreign;
  const missing = REQUIRED_CONFIG_FIELDS.filter((f) => !Object.prototype.hasOwnProperty.call(o, f));
  if (missing.length === REQUIRED_CONFIG_FIELDS.length) {
    const keys = Object.keys(o);
    throw notAConfig(keys.length === 0 ? 'an empty JSON object' : `a JSON object with none of the config fields (its keys: ${keys.slice(0, 6).map((k) => JSON.stringify(k)).join(', ')}${keys.length > 6 ? ', …' : ''})`);
  }
  if (missing.length > 0) throw new FstaError('BAD_CONFIG', `config lacks ${missing.map((f) => `"${f}"`).join(', ')}, which every calibrated config has`, 'pass the file written by `fsta calibrate` as it was written, or re-run `fsta calibrate`');
  const c = { ...(o as unknown as FstaConfig) };
  const bad = (field: string, why: string) => new FstaError('BAD_CONFIG', `config field "${field}" ${why}`, `fix "${field}" in the config or re-run \`fsta calibrate\``);
  if (c.version !== 1) throw bad('version', `is ${show(c.version)}; this fsta reads version 1`);
  if (typeof c.backbone !== 'string' || c.backbone === '') throw bad('backbone', 'must be a manifest name or "auto"');
  if (typeof c.fsStage !== 'string') throw bad('fsStage', 'must be a stage name such as "C5"');
  if (c.taStage !== null && typeof c.taStage !== 'string') throw bad('taStage', 'must be a stage name or null');
  if (typeof c.k !== 'number' || !Number.isFinite(c.k) || c.k < 0) throw bad('k', `must be a finite number ≥ 0 (got ${show(c.k)})`);
  if (c.featureScore !== 'fs' && c.featureScore !== 'fs_ta') throw bad('featureScore', 'must be "fs" or "fs_ta"');
  if (c.featureScore === 'fs_ta' && c.taStage === null) throw bad('featureScore', 'is "fs_ta" but taStage is null');
  if (typeof c.lambda !== 'number' || !Number.isFinite(c.lambda)) throw bad('lambda', 'must be a finite number');
  if (typeof c.temperature !== 'number' || !(c.temperature > 0)) throw bad('temperature', 'must be a number > 0');
  if (c.threshold !== null && (typeof c.threshold !== 'number' || !Number.isFinite(c.threshold))) throw bad('threshold', 'must be a finite number or null');
  if (c.classifier !== null && !CLASSIFIER_SCORE_NAMES.includes(c.classifier)) throw bad('classifier', `must be null or one of ${CLASSIFIER_SCORE_NAMES.join(', ')} (got ${show(c.classifier)})`);
  if (c.targetTpr !== null && (typeof c.targetTpr !== 'number' || !(c.targetTpr > 0 && c.targetTpr <= 1))) throw bad('targetTpr', 'must be a fraction in (0, 1] or null');
  if (c.kPercentile !== undefined && (typeof c.kPercentile !== 'number' || !(c.kPercentile >= 0 && c.kPercentile <= 100))) throw bad('kPercentile', 'must be a percentile in [0, 100] when present');
  checkClassifierOptions(c, bad);
  if (c.provenance !== undefined && (c.provenance === null || typeof c.provenance !== 'object' || Array.isArray(c.provenance))) throw bad('provenance', 'must be an object when present');
  if (c.provenance?.modelFingerprint !== undefined && typeof c.provenance.modelFingerprint !== 'string') throw bad('provenance.modelFingerprint', 'must be a string when present');
  return c;
}

/** ASH's and SCALE's settings as a detector runs them: the config's, else the defaults `fsta eval` uses. */
export function classifierOptions(config: Pick<FstaConfig, 'ash' | 'scale'>): { ash: { variant: AshVariant; percentile: number }; scale: { percentile: number } } {
  return {
    ash: { variant: config.ash?.variant ?? ASH_DEFAULTS.variant, percentile: config.ash?.percentile ?? ASH_DEFAULTS.percentile },
    scale: { percentile: config.scale?.percentile ?? SCALE_DEFAULT_PERCENTILE },
  };
}

/** The optional `ash` and `scale` fields: objects of known keys, a variant of p/b/s, percentiles in [0, 100). */
function checkClassifierOptions(c: FstaConfig, bad: (field: string, why: string) => FstaError): void {
  const percentile = (field: string, v: unknown) => {
    if (typeof v !== 'number' || !(v >= 0 && v < 100)) throw bad(field, `must be a percentile in [0, 100) (got ${show(v)}): the share of penultimate activations below the kept ones`);
  };
  const object = (field: string, v: unknown, keys: readonly string[]) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(field, `must be an object with ${keys.map((k) => `"${k}"`).join(' and ')} when present (got ${show(v)})`);
    const extra = Object.keys(v).filter((k) => !keys.includes(k));
    if (extra.length) throw bad(field, `has unknown key${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')} (it takes ${keys.map((k) => `"${k}"`).join(', ')})`);
  };
  if (c.ash !== undefined) {
    object('ash', c.ash, ['variant', 'percentile']);
    const a = c.ash as { variant?: unknown; percentile?: unknown };
    if (!ASH_VARIANTS.includes(a.variant as AshVariant)) throw bad('ash.variant', `must be one of ${ASH_VARIANTS.map((v) => `"${v}"`).join(', ')} (ASH-P, ASH-B, ASH-S; got ${show(a.variant)})`);
    percentile('ash.percentile', a.percentile);
  }
  if (c.scale !== undefined) {
    object('scale', c.scale, ['percentile']);
    percentile('scale.percentile', (c.scale as { percentile?: unknown }).percentile);
  }
}
