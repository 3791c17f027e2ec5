import { terminalText } from './printable.js';

/** Where the CLI writes: process streams in the bin, buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: then the progress bar redraws in place. */
  errIsTty: boolean;
  cwd: string;
  /** Width of stdout when it is a terminal (the results table fits itself to it). */
  columns?: number;
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(terminalText(t)),
  err: (t) => process.stderr.write(terminalText(t)),
  errIsTty: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
  ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : {}),
});

const WHY: Record<string, string> = { ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EIO: 'input/output error', EFBIG: 'the file is too large', EBADF: 'it is closed' };

/**
 * What the bin does when writing to standard output fails:
 * - EPIPE (the reader went away, as `fsta score … | head -1` does): stop quietly with
 *   status 0, since the reader has all it asked for;
 * - anything else (ENOSPC, EIO, …): one error line on stderr and status 2, as for
 *   any fatal error: the output is incomplete.
 */
export function outputFailure(e: NodeJS.ErrnoException, stream: 'stdout' | 'stderr'): { status: number; line: string | null } {
  if (e.code === 'EPIPE') return { status: 0, line: null };
  if (stream === 'stderr') return { status: 2, line: null }; // nowhere left to say it
  const why = WHY[e.code ?? ''] ?? e.message;
  return { status: 2, line: `fsta: error: cannot write to standard output: ${why}${e.code ? ` (${e.code})` : ''}. Fix: free space on the device the output goes to, or send the output elsewhere.\n` };
}

/** Installs {@link outputFailure} on the process's stdout and stderr: no stack trace, no "Unhandled 'error' event". */
export function exitOnOutputFailure(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', (e: NodeJS.ErrnoException) => {
      const f = outputFailure(e, name);
      if (f.line) { try { process.stderr.write(f.line); } catch { /* stderr broken too */ } }
      process.exit(f.status);
    });
  }
}
