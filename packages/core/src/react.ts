/** ReAct (Sun et al. 2021): clip penultimate activations at an ID percentile, then energy. */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { percentileOf } from './reference.js';
import { type HostMatrix, type LinearHead, checkMatrix, checkPercentile, checkTemperature } from './host.js';
import { applyHead } from './head.js';
import { energy } from './classifier-scores.js';
import { FstaError } from './errors.js';

export interface ReactFit {
  kind: 'react';
  /** Activations above this are clipped to it. */
  clip: number;
  percentile: number;
}

/** The clip value: the `percentile`-th percentile of all ID penultimate activations (flattened, as ReAct's code does). */
export function fitReact(idPenultimate: HostMatrix, percentile = 90): ReactFit {
  checkPercentile(percentile, 'ReAct');
  const { data } = checkMatrix(idPenultimate, 'ID penultimate features');
  const sorted = Float64Array.from(data).sort();
  return { kind: 'react', clip: percentileOf(sorted, percentile), percentile };
}

/** energy(head(min(h, c)), T), higher = more ID. */
export function reactScore<T>(ops: TensorOps<T>, penultimate: T, head: LinearHead, fit: ReactFit, temperature = 1): T {
  checkTemperature(temperature);
  if (fit?.kind !== 'react' || !Number.isFinite(fit.clip)) throw new FstaError('BAD_FIT', 'reactScore needs the object returned by fitReact', 'call fitReact(idPenultimate) first and pass its result');
  return tidy(ops, (o) => energy(o, applyHead(o, o.clamp(penultimate, undefined, fit.clip), head), temperature));
}
