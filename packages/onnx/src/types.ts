import type Long from 'long';

/**
 * Plain-object views of the ONNX protobuf messages (field names in camelCase, as
 * protobufjs writes them). Only fields that were present in the file are set, so a
 * decode → encode round trip keeps the file as it was. int64 fields are `Long`
 * after decoding; numbers are accepted when building new messages.
 */
export type Int64 = number | Long;

export const enum DataType {
  UNDEFINED = 0,
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  BFLOAT16 = 16,
}

export const enum AttributeType {
  UNDEFINED = 0,
  FLOAT = 1,
  INT = 2,
  STRING = 3,
  TENSOR = 4,
  GRAPH = 5,
  FLOATS = 6,
  INTS = 7,
  STRINGS = 8,
  TENSORS = 9,
  GRAPHS = 10,
  SPARSE_TENSOR = 11,
  SPARSE_TENSORS = 12,
  TYPE_PROTO = 13,
  TYPE_PROTOS = 14,
}

export interface StringStringEntry {
  key?: string;
  value?: string;
}

export interface OnnxTensor {
  dims?: Int64[];
  dataType?: number;
  segment?: { begin?: Int64; end?: Int64 };
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: Int64[];
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  externalData?: StringStringEntry[];
  /** 1 = EXTERNAL. */
  dataLocation?: number;
  doubleData?: number[];
  uint64Data?: Int64[];
}

export interface OnnxAttribute {
  name?: string;
  refAttrName?: string;
  docString?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
  [other: string]: unknown;
}

export interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: OnnxAttribute[];
  docString?: string;
}

export interface OnnxDim {
  dimValue?: Int64;
  dimParam?: string;
  denotation?: string;
}

export interface OnnxType {
  tensorType?: { elemType?: number; shape?: { dim?: OnnxDim[] } };
  denotation?: string;
  [other: string]: unknown;
}

export interface OnnxValueInfo {
  name?: string;
  type?: OnnxType;
  docString?: string;
}

export interface OnnxGraph {
  node?: OnnxNode[];
  name?: string;
  initializer?: OnnxTensor[];
  sparseInitializer?: unknown[];
  docString?: string;
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
  quantizationAnnotation?: unknown[];
}

export interface OpsetImport {
  domain?: string;
  version?: Int64;
}

export interface OnnxModel {
  irVersion?: Int64;
  opsetImport?: OpsetImport[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: OnnxGraph;
  metadataProps?: StringStringEntry[];
  trainingInfo?: unknown[];
  functions?: unknown[];
}
