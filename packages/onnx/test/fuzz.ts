/**
 * A small, seeded mutation fuzzer shared by the ONNX-reader and image-loader fuzz tests.
 * Everything is deterministic from the seed, so a failing case is reproduced by its
 * (seed, index) pair alone.
 */

/** The seeded PRNG: core's mulberry32, so every seeded generator in fsta is the same one. */
export { mulberry32 as rng } from '@fsta/core';

export type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);

/** A place in the input where a length is stored, and how to overwrite it. */
export interface LengthField {
  offset: number;
  /** Bytes the field occupies now. */
  size: number;
  /** Encodes a new length for this field (may change the byte count, as varints do). */
  encode(value: number): Uint8Array;
  /**
   * Length prefixes of the enclosing messages, outermost first, with the lengths they
   * hold. Rewriting a field with a re-sized value fixes these up, so the mutant stays
   * well-formed around the change and the corrupted value itself reaches the reader.
   */
  parents?: readonly { offset: number; size: number; length: number }[];
}

/** Replaces field `f` by `value`, then re-encodes the enclosing lengths (innermost first). */
export function rewriteField(src: Uint8Array, f: LengthField, value: number): Uint8Array {
  const enc = f.encode(value);
  let out = splice(src, f.offset, f.size, enc);
  let delta = enc.length - f.size;
  for (const p of [...(f.parents ?? [])].reverse()) {
    if (delta === 0) break;
    const e = varint(p.length + delta);
    // Parents start before the field, so their offsets are unchanged by later splices.
    out = splice(out, p.offset, p.size, e);
    delta += e.length - p.size;
  }
  return out;
}

export interface Mutant {
  bytes: Uint8Array;
  kind: string;
}

/** Lengths a corrupted prefix is set to: off-by-one, zero, and claims of 2 GB and 4 GB. */
const HOSTILE_LENGTHS = [0, 1, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 40, Number.MAX_SAFE_INTEGER];

function splice(src: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length - remove + insert.length);
  out.set(src.subarray(0, at), 0);
  out.set(insert, at);
  out.set(src.subarray(at + remove), at + insert.length);
  return out;
}

/**
 * One mutant of `src`. `hot` limits where byte-level mutations land (e.g. the
 * structural bytes of a file whose bulk is weight or pixel data); `lengths` lists
 * the length prefixes that the length-corruption mutator rewrites.
 */
export function mutate(src: Uint8Array, r: Rand, opts: { hot?: readonly [number, number][]; lengths?: readonly LengthField[]; varints?: readonly LengthField[] } = {}): Mutant {
  const pos = (): number => {
    if (opts.hot && opts.hot.length > 0 && r() < 0.7) {
      const [a, b] = opts.hot[int(r, opts.hot.length)]!;
      return Math.min(src.length - 1, a + int(r, Math.max(1, b - a)));
    }
    return int(r, src.length);
  };
  const kinds = 6 + (opts.lengths && opts.lengths.length > 0 ? 1 : 0) + (opts.varints && opts.varints.length > 0 ? 1 : 0);
  let choice = int(r, kinds);
  if (choice === 6 && !(opts.lengths && opts.lengths.length > 0)) choice = 7;
  switch (choice) {
    case 0: {
      const out = new Uint8Array(src); // a copy: a Node Buffer's slice() is a view
      const flips = 1 + int(r, 8);
      for (let i = 0; i < flips; i++) { const p = pos(); out[p]! ^= 1 << int(r, 8); }
      return { bytes: out, kind: 'bit-flip' };
    }
    case 1: {
      const out = new Uint8Array(src); // a copy: a Node Buffer's slice() is a view
      const n = 1 + int(r, 4);
      const specials = [0x00, 0xff, 0x7f, 0x80, 0x01];
      for (let i = 0; i < n; i++) out[pos()] = r() < 0.5 ? specials[int(r, specials.length)]! : int(r, 256);
      return { bytes: out, kind: 'byte-replace' };
    }
    case 2: {
      const run = new Uint8Array(1 + int(r, 64));
      const fill = r();
      for (let i = 0; i < run.length; i++) run[i] = fill < 0.3 ? 0 : fill < 0.5 ? 0xff : int(r, 256);
      return { bytes: splice(src, pos(), 0, run), kind: 'insert-run' };
    }
    case 3: {
      const at = pos();
      return { bytes: splice(src, at, Math.min(src.length - at, 1 + int(r, 64)), new Uint8Array(0)), kind: 'delete-run' };
    }
    case 4: {
      // Truncate anywhere, biased toward the start where the headers are.
      const cut = r() < 0.5 ? int(r, Math.min(src.length, 512)) : int(r, src.length);
      return { bytes: src.slice(0, cut), kind: 'truncate' };
    }
    case 5: {
      // Duplicate a chunk elsewhere: structurally plausible garbage.
      const a = pos(), len = 1 + int(r, 256);
      return { bytes: splice(src, pos(), 0, src.slice(a, a + len)), kind: 'duplicate-run' };
    }
    case 6: {
      const f = opts.lengths![int(r, opts.lengths!.length)]!;
      const v = r() < 0.6 ? HOSTILE_LENGTHS[int(r, HOSTILE_LENGTHS.length)]! : int(r, 1 << 20);
      return { bytes: splice(src, f.offset, f.size, f.encode(v)), kind: 'length-corrupt' };
    }
    default: {
      // Numeric fields (dims, enum codes, versions, attribute ints) set to extremes.
      const f = opts.varints![int(r, opts.varints!.length)]!;
      const v = r() < 0.6 ? HOSTILE_LENGTHS[int(r, HOSTILE_LENGTHS.length)]! : int(r, 64);
      return { bytes: rewriteField(src, f, v), kind: 'varint-corrupt' };
    }
  }
}

/** Protobuf base-128 varint encoding (up to 2^53, enough to claim absurd lengths). */
export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
  out.push(v);
  return Uint8Array.from(out);
}

/**
 * Walks protobuf wire format and lists every length-delimited field's length prefix,
 * descending into a field's payload when it parses as a message itself. Raw payloads
 * (weights) fail that check, so the result points at the structure, not the data.
 */
export function protobufLengths(buf: Uint8Array, start = 0, end = buf.length, depth = 0, out: LengthField[] = [], varints: LengthField[] = [], parents: LengthField['parents'] = []): LengthField[] {
  let p = start;
  const readVarint = (): number | undefined => {
    let v = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= end) return undefined;
      const b = buf[p++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  const found: LengthField[] = [];
  const foundVarints: LengthField[] = [];
  while (p < end) {
    const tag = readVarint();
    if (tag === undefined || tag < 8) return out;
    const wire = tag % 8;
    if (wire === 0) {
      const at = p;
      if (readVarint() === undefined) return out;
      foundVarints.push({ offset: at, size: p - at, encode: varint, parents });
    }
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const at = p;
      const len = readVarint();
      if (len === undefined || p + len > end) return out;
      found.push({ offset: at, size: p - at, encode: varint, parents });
      if (depth < 8 && len > 1 && isMessage(buf, p, p + len)) protobufLengths(buf, p, p + len, depth + 1, found, foundVarints, [...parents!, { offset: at, size: p - at, length: len }]);
      p += len;
    } else return out;
  }
  if (p === end) { out.push(...found); varints.push(...foundVarints); }
  return out;
}

/** The varint-valued fields (wire type 0) that `protobufLengths` walks past. */
export function protobufVarints(buf: Uint8Array): LengthField[] {
  const varints: LengthField[] = [];
  protobufLengths(buf, 0, buf.length, 0, [], varints);
  return varints;
}

function isMessage(buf: Uint8Array, start: number, end: number): boolean {
  let p = start;
  let fields = 0;
  while (p < end && fields < 1_000_000) {
    let tag = 0, mul = 1, ok = false;
    for (let i = 0; i < 10 && p < end; i++) { const b = buf[p++]!; tag += (b & 0x7f) * mul; mul *= 128; if ((b & 0x80) === 0) { ok = true; break; } }
    if (!ok || tag < 8 || tag >> 3 > 64) return false;
    const wire = tag % 8;
    if (wire === 0) { let done = false; for (let i = 0; i < 10 && p < end; i++) if ((buf[p++]! & 0x80) === 0) { done = true; break; } if (!done) return false; }
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      let len = 0, m = 1, done = false;
      for (let i = 0; i < 10 && p < end; i++) { const b = buf[p++]!; len += (b & 0x7f) * m; m *= 128; if ((b & 0x80) === 0) { done = true; break; } }
      if (!done || p + len > end) return false;
      p += len;
    } else return false;
    fields++;
  }
  return p === end;
}

/** Outcome tally: 'valid' or 'FstaError:<code>', with the first example of each. */
export class Outcomes {
  readonly counts = new Map<string, number>();
  readonly examples = new Map<string, string>();
  readonly byKind = new Map<string, number>();
  add(outcome: string, kind: string, example: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    if (!this.examples.has(outcome)) this.examples.set(outcome, example);
  }
  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }
  summary(title: string, extra = ''): string {
    const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(', ');
    return `${title}: ${this.total} cases${extra}; outcomes: ${sorted(this.counts)}; mutations: ${sorted(this.byKind)}`;
  }
}
