/**
 * Every error fsta throws on bad input: a stable `code`, a message that names the
 * problem (and the sample index, where there is one) and a `fix` that says what to do.
 */
export class FstaError extends Error {
  override readonly name = 'FstaError';
  constructor(
    readonly code: string,
    problem: string,
    readonly fix: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${problem}. Fix: ${fix}.`);
  }
}

/** Throws if any value is NaN or ±Inf, naming the first offending sample. */
export function assertFinite(values: ArrayLike<number>, what: string, perSample = 1): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      const sample = Math.floor(i / perSample);
      throw new FstaError('NON_FINITE', `${what} has ${v} at sample ${sample}${perSample > 1 ? ` (flat index ${i})` : ''}`, 'check the input image and preprocessing; fsta never scores non-finite values', { sample, index: i });
    }
  }
}
