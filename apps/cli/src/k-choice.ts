import { FstaError, defaultConfig, kFromPercentile } from '@fsta/core';
import type { FstaConfig } from '@fsta/core';
import { usageError } from './args.js';
import { findBackbone } from '@fsta/backbones';
import type { ModelChoice } from './model-options.js';

/** One TA threshold to score, with the name its columns get and where it came from. */
export interface KSetting {
  k: number;
  /** `k=0.5` or `k=p90`: the column suffix when several k are scored (`FS+TA@k=0.5`). */
  label: string;
  source: string;
}

/**
 * Parses a comma list of numbers (`--k 0.2,0.5`, `--k-percentile 50,90`): every item must
 * pass `check`, none may repeat. One bad item names itself and its position.
 */
export function numberList(v: unknown, flag: string, command: string, check: (n: number) => boolean, what: { one: string; many: string }): number[] | undefined {
  if (v === undefined) return undefined;
  const text = String(v);
  const items = text.split(',');
  const out: number[] = [];
  items.forEach((raw, i) => {
    const s = raw.trim();
    const n = Number(s);
    const where = items.length > 1 ? ` (item ${i + 1} of "${text}")` : '';
    if (s === '' || !Number.isFinite(n) || !check(n)) throw usageError(`${flag} must be ${items.length > 1 ? `a comma list of ${what.many}` : what.one}, got "${s}"${where}`, command);
    if (out.includes(n)) throw usageError(`${flag} gives ${n} twice ("${text}")`, command);
    out.push(n);
  });
  return out;
}

export const kList = (v: unknown, command: string) => numberList(v, '--k', command, (n) => n >= 0, { one: 'a number ≥ 0', many: 'numbers ≥ 0' });

export const percentileList = (v: unknown, command: string) =>
  numberList(v, '--k-percentile', command, (n) => n >= 0 && n <= 100, { one: 'a percentile in [0, 100]', many: 'percentiles in [0, 100]' });

/**
 * k when neither --k nor --k-percentile is given: the config's (when it has a TA stage),
 * else the backbone manifest's default (0.5 CIFAR ResNets, 0.2 ResNet-50, as in the paper),
 * else the default for automatically detected stages, else core's.
 */
export function defaultK(choice: ModelChoice, config: { path: string; cfg: FstaConfig } | null): KSetting {
  const at = (k: number, source: string): KSetting => ({ k, label: `k=${k}`, source });
  if (config && config.cfg.taStage !== null) return at(config.cfg.k, `config ${config.path} (calibrated at ${config.cfg.taStage})`);
  if (choice.defaultK) return at(choice.defaultK.k, choice.defaultK.source);
  try {
    const r = findBackbone(choice.spec.graph, 'auto');
    return at(r.defaults.k, r.manifest ? `backbone ${r.manifest.name} default (the model matches it)` : 'default for automatically detected stages');
  } catch (e) {
    if (!(e instanceof FstaError)) throw e;
    return at(defaultConfig().k, 'core default config');
  }
}

/** k as percentiles of TA-stage activations on up to 200 evenly spread ID images. */
export function percentileKs(sample: Float64Array, percentiles: readonly number[], stage: string, images: number): KSetting[] {
  return percentiles.map((q) => {
    const k = kFromPercentile(sample, q);
    if (k < 0) throw new FstaError('BAD_K', `the ${q}th percentile of ${stage} activations on ${images} ID images is ${k.toPrecision(3)}, below 0: ${stage} is signed, and TA needs k ≥ 0`, 'pass a higher --k-percentile, or k itself with --k');
    return { k, label: `k=p${q}`, source: `${q}th percentile of ${stage} activations on ${images} ID images` };
  });
}
