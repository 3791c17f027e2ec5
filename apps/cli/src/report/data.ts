import type { PercentMetrics } from '../table.js';
import type { SampleMaps } from '../engine/sample-maps.js';

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
}
