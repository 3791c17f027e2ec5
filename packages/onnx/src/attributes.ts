import { toNumber } from './proto.js';
import { AttributeType, type OnnxAttribute, type OnnxNode, type OnnxTensor } from './types.js';
import Long from 'long';

const find = (node: OnnxNode, name: string) => (node.attribute ?? []).find((a) => a.name === name);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

export function attrInt(node: OnnxNode, name: string): number | undefined;
export function attrInt(node: OnnxNode, name: string, fallback: number): number;
export function attrInt(node: OnnxNode, name: string, fallback?: number): number | undefined {
  const a = find(node, name);
  return a?.i !== undefined ? toNumber(a.i) : fallback;
}

export function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = find(node, name);
  return a && (a.ints !== undefined || a.type === AttributeType.INTS) ? (a.ints ?? []).map(toNumber) : undefined;
}

export function attrFloat(node: OnnxNode, name: string): number | undefined;
export function attrFloat(node: OnnxNode, name: string, fallback: number): number;
export function attrFloat(node: OnnxNode, name: string, fallback?: number): number | undefined {
  return find(node, name)?.f ?? fallback;
}

export function attrString(node: OnnxNode, name: string): string | undefined;
export function attrString(node: OnnxNode, name: string, fallback: string): string;
export function attrString(node: OnnxNode, name: string, fallback?: string): string | undefined {
  const s = find(node, name)?.s;
  return s !== undefined ? text(s) : fallback;
}

export function attrTensor(node: OnnxNode, name: string): OnnxTensor | undefined {
  return find(node, name)?.t;
}

/** Attribute records for new nodes. */
export const attr = {
  int: (name: string, i: number): OnnxAttribute => ({ name, type: AttributeType.INT, i: Long.fromNumber(i) }),
  ints: (name: string, v: readonly number[]): OnnxAttribute => ({ name, type: AttributeType.INTS, ints: v.map((x) => Long.fromNumber(x)) }),
  float: (name: string, f: number): OnnxAttribute => ({ name, type: AttributeType.FLOAT, f }),
  string: (name: string, s: string): OnnxAttribute => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) }),
  tensor: (name: string, t: OnnxTensor): OnnxAttribute => ({ name, type: AttributeType.TENSOR, t }),
};
