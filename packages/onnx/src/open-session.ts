import { FstaError } from '@fsta/core';

export interface ProviderFallback<P extends string, S> {
  /** The adapter's package name, for the log line. */
  runtime: string;
  /** The providers this runtime supports, in the words of its errors. */
  supported: readonly P[];
  /** Why a provider cannot load, known before trying (null: try it). */
  unavailable(provider: P): string | null;
  create(provider: P): Promise<S>;
  log(line: string): void;
  /** What to do when no provider loads. */
  fix: string;
  /** The usual provider list, suggested when the list is empty. */
  example: string;
}

/**
 * Opens one session, trying providers in order, written once for every ONNX runtime.
 * A provider that cannot load falls through to the next with one log line saying why;
 * only when none loads does this throw.
 */
export async function openFirstSession<P extends string, S>(providers: readonly P[], o: ProviderFallback<P, S>): Promise<{ session: S; provider: P }> {
  if (providers.length === 0) throw new FstaError('BAD_OPTION', 'executionProviders is empty', `pass ${o.example}`);
  const reasons: string[] = [];
  for (const provider of providers) {
    if (!o.supported.includes(provider)) throw new FstaError('BAD_OPTION', `execution provider "${String(provider)}" is not supported by ${o.runtime}`, `use ${o.supported.map((p) => `'${p}'`).join(' and/or ')}`);
    const missing = o.unavailable(provider);
    if (missing) {
      reasons.push(missing);
      continue;
    }
    try {
      const session = await o.create(provider);
      if (reasons.length > 0) o.log(`${o.runtime}: running on ${provider}. ${reasons.join('; ')}`);
      return { session, provider };
    } catch (e) {
      reasons.push(`${provider} failed to start (${(e as Error).message.split('\n')[0]})`);
    }
  }
  throw new FstaError('NO_PROVIDER', `no execution provider could run the model: ${reasons.join('; ')}`, o.fix);
}
