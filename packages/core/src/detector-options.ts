import type { ClassifierScoreName, FstaConfig } from './config.js';
import { defaultConfig, parseConfig } from './config.js';
import { FstaError } from './errors.js';
import { PAPER_LAMBDA } from './fusion.js';

/** The options every adapter's createDetector takes on top of the model. */
export interface DetectorSettings {
  /** Manifest name or 'auto'; overrides config.backbone. */
  backbone?: string;
  /** A calibrated config (object or JSON text); the other options override its fields. */
  config?: FstaConfig | string;
  /** The FS stage (C2…C5); overrides the config's. */
  fsStage?: string;
  /** The TA stage, or null for plain FS; overrides the config's. */
  taStage?: string | null;
  k?: number;
  lambda?: number;
  classifier?: ClassifierScoreName | null;
  /** ASH's variant and percentile (config field `ash`); overrides the config's. */
  ash?: FstaConfig['ash'];
  /** SCALE's percentile (config field `scale`); overrides the config's. */
  scale?: FstaConfig['scale'];
  /**
   * Use a config whose recorded model fingerprint (`provenance.modelFingerprint`) is
   * another model's: its threshold and k were calibrated on that model's scores, so it
   * is refused unless this is set.
   */
  allowForeignConfig?: boolean;
}

/** Stage defaults from the backbone (manifest or detection), used when no config is given. */
export interface StageDefaultsLike {
  fsStage: string;
  taStage: string | null;
  k: number;
  kPercentile?: number;
}

/**
 * The config a detector runs with: the given config (else the backbone's stage
 * defaults), then explicit options on top. A classifier without λ takes the paper's
 * λ where there is one.
 */
export function resolveDetectorConfig(settings: DetectorSettings, backboneDefaults?: StageDefaultsLike): FstaConfig {
  const base = settings.config !== undefined
    ? parseConfig(settings.config)
    : defaultConfig(backboneDefaults ? { fsStage: backboneDefaults.fsStage, taStage: backboneDefaults.taStage, k: backboneDefaults.k, featureScore: backboneDefaults.taStage === null ? 'fs' : 'fs_ta' } : {});
  const merged: FstaConfig = { ...base };
  if (settings.backbone !== undefined) merged.backbone = settings.backbone;
  if (settings.fsStage !== undefined) merged.fsStage = settings.fsStage;
  if (settings.taStage !== undefined) {
    merged.taStage = settings.taStage;
    if (settings.taStage === null) merged.featureScore = 'fs';
  }
  if (settings.k !== undefined) merged.k = settings.k;
  if (settings.classifier !== undefined) merged.classifier = settings.classifier;
  if (settings.ash !== undefined) merged.ash = settings.ash;
  if (settings.scale !== undefined) merged.scale = settings.scale;
  if (settings.lambda !== undefined) merged.lambda = settings.lambda;
  else if (settings.classifier != null && settings.config === undefined) {
    const paper = (PAPER_LAMBDA as Record<string, number>)[settings.classifier];
    if (paper === undefined) throw new FstaError('BAD_OPTION', `classifier "${settings.classifier}" has no paper λ`, `pass lambda explicitly (or calibrate with \`fsta calibrate\`)`);
    merged.lambda = paper;
  }
  return parseConfig(merged);
}

