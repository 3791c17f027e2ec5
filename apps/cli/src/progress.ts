import type { Io } from './io.js';

const clock = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

/**
 * A progress bar with rate and ETA on stderr. On a terminal it redraws in place;
 * otherwise (CI logs, pipes) it writes one plain line when the task ends.
 */
export function progress(io: Io, label: string, total: number, now: () => number = () => performance.now()) {
  const start = now();
  let done = 0;
  let lastDraw = -Infinity;
  const line = () => {
    const secs = Math.max((now() - start) / 1000, 1e-9);
    const rate = done / secs;
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : width;
    const eta = rate > 0 ? clock((total - done) / rate) : '?';
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate.toFixed(1)} img/s ETA ${eta}`;
  };
  return {
    tick(n = 1) {
      done += n;
      if (io.errIsTty && (now() - lastDraw > 100 || done >= total)) {
        lastDraw = now();
        io.err(`\r${line()}\x1b[K`);
      }
    },
    end() {
      const secs = (now() - start) / 1000;
      const summary = `${label}: ${done} images in ${clock(secs)} (${(done / Math.max(secs, 1e-9)).toFixed(1)} img/s)`;
      io.err(io.errIsTty ? `\r${summary}\x1b[K\n` : `${summary}\n`);
    },
  };
}
