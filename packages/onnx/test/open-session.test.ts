import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { openFirstSession, type ProviderFallback } from '@fsta/onnx';

type P = 'gpu' | 'cpu';
const base = (over: Partial<ProviderFallback<P, string>> = {}, lines: string[] = []): ProviderFallback<P, string> => ({
  runtime: '@fsta/test',
  supported: ['gpu', 'cpu'],
  unavailable: () => null,
  create: async (p) => `session-${p}`,
  log: (l) => lines.push(l),
  fix: 'include cpu',
  example: "['gpu', 'cpu']",
  ...over,
});

describe('openFirstSession: providers tried in order, one log line on fallback', () => {
  it('takes the first provider that loads, silently', async () => {
    const lines: string[] = [];
    expect(await openFirstSession(['gpu', 'cpu'], base({}, lines))).toEqual({ session: 'session-gpu', provider: 'gpu' });
    expect(lines).toEqual([]);
  });

  it('falls back past an unavailable and a failing provider, saying why in one line', async () => {
    const lines: string[] = [];
    const o = base({ unavailable: (p) => (p === 'gpu' ? 'GPU unavailable: no driver' : null) }, lines);
    expect(await openFirstSession(['gpu', 'cpu'], o)).toEqual({ session: 'session-cpu', provider: 'cpu' });
    expect(lines).toEqual(['@fsta/test: running on cpu. GPU unavailable: no driver']);
    const failing = base({ create: async (p) => { if (p === 'gpu') throw new Error('boom\nstack'); return 'ok'; } }, (lines.length = 0, lines));
    expect((await openFirstSession(['gpu', 'cpu'], failing)).provider).toBe('cpu');
    expect(lines).toEqual(['@fsta/test: running on cpu. gpu failed to start (boom)']);
  });

  it('names the problem and the fix when nothing loads or the list is bad', async () => {
    const err = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as FstaError);
    const none = await err(openFirstSession(['gpu'], base({ unavailable: () => 'GPU unavailable: no driver' })));
    expect(none).toMatchObject({ code: 'NO_PROVIDER', message: 'no execution provider could run the model: GPU unavailable: no driver. Fix: include cpu.' });
    expect(await err(openFirstSession([], base()))).toMatchObject({ code: 'BAD_OPTION', message: "executionProviders is empty. Fix: pass ['gpu', 'cpu']." });
    expect(await err(openFirstSession(['tpu' as P], base()))).toMatchObject({ code: 'BAD_OPTION', message: `execution provider "tpu" is not supported by @fsta/test. Fix: use 'gpu' and/or 'cpu'.` });
  });
});
