/** Where the CLI writes: process streams in the bin, buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: then the progress bar redraws in place. */
  errIsTty: boolean;
  cwd: string;
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTty: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
});
