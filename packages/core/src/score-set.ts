import { FstaError } from './errors.js';

/**
 * A validated copy of a score set as float64: non-empty and finite, or an FstaError
 * that names the set (`what`) and the first bad sample index.
 */
export function scoreSet(values: ArrayLike<number>, what: string, whyNonEmpty = 'the metric needs both ID and OOD samples, and an empty set leaves only one class'): Float64Array {
  if (values === null || values === undefined || typeof values.length !== 'number') {
    throw new FstaError('BAD_INPUT', `${what} must be an array of numbers`, `pass ${what} as number[] or Float32Array`);
  }
  if (values.length === 0) {
    throw new FstaError('EMPTY', `${what} are empty`, `pass at least one value in ${what}: ${whyNonEmpty}`);
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new FstaError('NON_FINITE', `${what} has ${String(v)} at sample ${i}`, 'check that image and its preprocessing; fsta never scores non-finite values', { sample: i, set: what });
    }
    out[i] = v;
  }
  return out;
}

/** A sorted descending copy (typed-array sort: numeric, no stack use on large arrays). */
export function sortedDescending(values: Float64Array): Float64Array {
  return Float64Array.from(values).sort().reverse();
}
