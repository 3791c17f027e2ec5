import type { FstaConfig } from '@fsta/core';
import type { Share } from '@fsta/core';
import type { PercentMetrics } from '../table.js';
import type { SampleMaps } from '../engine/sample-maps.js';

/** Percent metrics of one method on one set, with 95% bootstrap intervals (percent) when the eval made them. */
export type MetricsWithCi = PercentMetrics;

/** One image on the wrong side of the threshold. */
export interface Failure {
  set: string;
  file: string;
  score: number;
  /** The model's input and its FS maps (only when a report is written). */
  maps?: SampleMaps;
}

/**
 * The recommended method and threshold: from `--config` (source 'config'), or, without
 * one, the best method by average AUROC at its 95%-ID-TPR threshold on these very ID
 * images (source 'comparison': chosen with OOD test data, so for comparison only).
 */
export interface Decision {
  method: string;
  source: 'config' | 'comparison';
  threshold: number;
  targetTpr: number;
  /** Share of ID kept and of each OOD set (and all OOD pooled) caught, percent, with 95% intervals. */
  kept: Share;
  caught: Record<string, Share>;
  /** OOD images accepted, highest score first, and ID images rejected, lowest first. */
  oodAccepted: Failure[];
  idRejected: Failure[];
  oodAcceptedTotal: number;
  idRejectedTotal: number;
}

/**
 * Everything `fsta eval` knows after a run, handed to the HTML report writer
 * (`writeReport(data, path)`). Scores are per image, higher = more ID; metrics are percent.
 */
export interface ReportData {
  title: string;
  settings: Record<string, unknown>;
  accuracy: { top1: number; top5: number | null; n: number } | null;
  /** Percent, with 95% bootstrap intervals (`ci`, percent) when the eval made them. */
  results: Record<string, Record<string, PercentMetrics>>;
  /** Per method: ID scores and per-OOD-set scores, in the order of `files`. */
  scores: Record<string, { id: number[]; ood: Record<string, number[]> }>;
  files: { id: string[]; ood: Record<string, string[]> };
  /** Feature maps of a few sample images (only when a report is written). */
  samples?: SampleMaps[];
  decision?: Decision;
  /** The config given with --config; `unused` says why its method and threshold could not be applied. */
  config?: { path: string; cfg: FstaConfig; unused?: string };
  /** Findings worth a line of their own (the demo's: where FS works and where it does not). */
  notes?: string[];
}
