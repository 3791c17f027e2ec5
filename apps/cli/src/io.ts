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
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTty: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
  ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : {}),
});
