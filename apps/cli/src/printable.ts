// C0 and C1 controls (ESC starts terminal escape sequences, BEL rings, CR rewrites
// the line), DEL, and the Unicode bidi/format controls that reorder what is shown.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escape = (c: string): string => {
  const n = c.charCodeAt(0);
  return NAMED[c] ?? (n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`);
};

/**
 * A name from outside (file name, path, tensor or graph name, error message) made
 * safe to print on a terminal: control characters become visible escapes (`\x1b`,
 * `\x07`, `\n`, `\u202e`), so a name cannot move the cursor, recolour or retitle
 * the terminal, or hide itself. Other Unicode is kept as it is.
 */
export function printable(s: string): string {
  return s.replace(CONTROL, escape);
}

// What the CLI's own output uses: line breaks, tabs, and the progress bar's carriage
// return and erase-to-end-of-line.
const OWN = /\x1b\[K|[\n\t\r]/y;

/**
 * The net under {@link printable} for everything the bin writes: any control
 * character the CLI did not put there itself is escaped, so a name that reached the
 * output unescaped still cannot drive the terminal.
 */
export function terminalText(s: string): string {
  return s.replace(CONTROL, (c, offset: number) => {
    OWN.lastIndex = offset;
    return OWN.test(s) ? c : escape(c);
  });
}
