import Long from 'long';
import { FstaError } from '@fsta/core';
import { toNumber } from './proto.js';
import { DataType, type OnnxTensor } from './types.js';

export const tensorDims = (t: OnnxTensor): number[] => (t.dims ?? []).map(toNumber);
const sizeOf = (t: OnnxTensor) => tensorDims(t).reduce((a, b) => a * b, 1);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** More values than a ModelProto (under 2 GiB) can store: such dims are corrupt. */
const MAX_STORABLE = 2 ** 31;
/**
 * The most values fsta reads from one tensor as numbers (8 bytes each in a JS array):
 * 512 MB, far above any classifier head (a 21k-class head on 2048 features is 43M).
 */
export const MAX_READ_ELEMENTS = 2 ** 26;

function rawView(t: OnnxTensor): DataView {
  const r = t.rawData!;
  return new DataView(r.buffer, r.byteOffset, r.byteLength);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * The values of a tensor record as float64 numbers, for any numeric data type and
 * whichever field holds them (raw_data little-endian, or the typed *_data fields).
 */
export function tensorToNumbers(t: OnnxTensor): number[] {
  const dims = tensorDims(t);
  const n = sizeOf(t);
  const dt = t.dataType ?? DataType.UNDEFINED;
  // Checked before allocating: a corrupt dims field can claim 2^53 elements.
  if (!dims.every((d) => Number.isInteger(d) && d >= 0) || n > MAX_STORABLE) {
    throw new FstaError('CORRUPT_MODEL', `tensor "${t.name}" has dims [${dims.join(', ')}], which is not a readable tensor size`, 're-export the model; the file is damaged');
  }
  if (n > MAX_READ_ELEMENTS) {
    throw new FstaError('TENSOR_TOO_LARGE', `tensor "${t.name}" has ${n} values (dims [${dims.join(', ')}]); fsta reads at most ${MAX_READ_ELEMENTS} values of one tensor as numbers`, 'check that the manifest points at the right tensor (a classifier head weight, not a feature map or an embedding table)');
  }
  const hasRaw = t.rawData !== undefined && t.rawData.length > 0;
  // Allocated only once the stored data is known to match the dims.
  let out: number[];
  const need = (bytesPer: number): number[] => {
    if (t.rawData!.length !== n * bytesPer) throw new FstaError('CORRUPT_MODEL', `tensor "${t.name}" has ${t.rawData!.length} raw bytes but dims [${tensorDims(t).join(', ')}] of type ${dt} need ${n * bytesPer}`, 're-export the model');
    return new Array<number>(n);
  };
  if (hasRaw) {
    const v = rawView(t);
    switch (dt) {
      case DataType.FLOAT: out = need(4); for (let i = 0; i < n; i++) out[i] = v.getFloat32(i * 4, true); return out;
      case DataType.DOUBLE: out = need(8); for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true); return out;
      case DataType.FLOAT16: out = need(2); for (let i = 0; i < n; i++) out[i] = halfToFloat(v.getUint16(i * 2, true)); return out;
      case DataType.BFLOAT16: out = need(2); for (let i = 0; i < n; i++) { const b = new DataView(new ArrayBuffer(4)); b.setUint16(0, v.getUint16(i * 2, true), false); out[i] = b.getFloat32(0, false); } return out;
      case DataType.INT8: out = need(1); for (let i = 0; i < n; i++) out[i] = v.getInt8(i); return out;
      case DataType.UINT8: case DataType.BOOL: out = need(1); for (let i = 0; i < n; i++) out[i] = v.getUint8(i); return out;
      case DataType.INT16: out = need(2); for (let i = 0; i < n; i++) out[i] = v.getInt16(i * 2, true); return out;
      case DataType.UINT16: out = need(2); for (let i = 0; i < n; i++) out[i] = v.getUint16(i * 2, true); return out;
      case DataType.INT32: out = need(4); for (let i = 0; i < n; i++) out[i] = v.getInt32(i * 4, true); return out;
      case DataType.UINT32: out = need(4); for (let i = 0; i < n; i++) out[i] = v.getUint32(i * 4, true); return out;
      case DataType.INT64: out = need(8); for (let i = 0; i < n; i++) out[i] = Number(v.getBigInt64(i * 8, true)); return out;
      case DataType.UINT64: out = need(8); for (let i = 0; i < n; i++) out[i] = Number(v.getBigUint64(i * 8, true)); return out;
    }
  } else {
    let src: ArrayLike<number> | undefined;
    switch (dt) {
      case DataType.FLOAT: src = t.floatData ?? []; break;
      case DataType.DOUBLE: src = t.doubleData ?? []; break;
      case DataType.INT64: src = (t.int64Data ?? []).map(toNumber); break;
      case DataType.UINT64: src = (t.uint64Data ?? []).map(toNumber); break;
      case DataType.FLOAT16: src = (t.int32Data ?? []).map(halfToFloat); break;
      case DataType.BFLOAT16: src = (t.int32Data ?? []).map((b) => { const d = new DataView(new ArrayBuffer(4)); d.setUint16(0, b, false); return d.getFloat32(0, false); }); break;
      case DataType.INT8: case DataType.UINT8: case DataType.INT16: case DataType.UINT16: case DataType.INT32: case DataType.BOOL: case DataType.UINT32:
        src = t.int32Data ?? []; break;
    }
    if (src !== undefined || n === 0) {
      const s = src ?? [];
      if (s.length !== n) throw new FstaError('CORRUPT_MODEL', `tensor "${t.name}" has ${s.length} values but dims [${tensorDims(t).join(', ')}] need ${n}`, 're-export the model');
      out = new Array<number>(n);
      for (let i = 0; i < n; i++) out[i] = s[i]!;
      return out;
    }
  }
  throw new FstaError('UNSUPPORTED_TENSOR', `tensor "${t.name}" has data type ${dt}, which fsta cannot read as numbers`, 'use float, integer or float16 tensors');
}

/** A tensor record's values as float32 (any numeric type, raw or typed fields). */
export function tensorToFloat32(t: OnnxTensor): Float32Array {
  if (littleEndian && t.dataType === DataType.FLOAT && t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== sizeOf(t) * 4 || sizeOf(t) > MAX_READ_ELEMENTS) tensorToNumbers(t); // throws the size error
    return new Float32Array(t.rawData.buffer.slice(t.rawData.byteOffset, t.rawData.byteOffset + t.rawData.byteLength));
  }
  return Float32Array.from(tensorToNumbers(t));
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

function check(name: string, n: number, dims: readonly number[]) {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== n || !dims.every((d) => Number.isInteger(d) && d >= 0)) throw new FstaError('SHAPE_MISMATCH', `initializer "${name}" has ${n} values but dims [${dims.join(', ')}]`, 'pass data whose length is the product of dims');
}

/** A float32 tensor record stored as raw_data. */
export function float32Initializer(name: string, data: Float32Array | readonly number[], dims: readonly number[]): OnnxTensor {
  check(name, data.length, dims);
  const arr = Float32Array.from(data);
  let raw: Uint8Array;
  if (littleEndian) raw = bytesOf(arr);
  else { const v = new DataView(new ArrayBuffer(arr.length * 4)); arr.forEach((x, i) => v.setFloat32(i * 4, x, true)); raw = new Uint8Array(v.buffer); }
  return { name, dims: dims.map((d) => Long.fromNumber(d)), dataType: DataType.FLOAT, rawData: raw };
}

/** An int64 tensor record (shapes, axes, indices) stored as raw_data. */
export function int64Initializer(name: string, data: readonly number[], dims: readonly number[] = [data.length]): OnnxTensor {
  check(name, data.length, dims);
  const v = new DataView(new ArrayBuffer(data.length * 8));
  data.forEach((x, i) => v.setBigInt64(i * 8, BigInt(x), true));
  return { name, dims: dims.map((d) => Long.fromNumber(d)), dataType: DataType.INT64, rawData: new Uint8Array(v.buffer) };
}
