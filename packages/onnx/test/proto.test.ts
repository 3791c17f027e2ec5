import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { decodeModel, encodeModel, tensorToFloat32, float32Initializer, int64Initializer, tensorToNumbers, GraphIndex, defaultOpset, attrInts, attrInt } from '../src/index.js';
import { modelFiles, readModel, runOrt, seeded, inputSize, firstDifference } from './helpers.js';

describe('decode → encode round trip on every shared model', () => {
  it('finds the shared models', () => expect(modelFiles.length).toBeGreaterThanOrEqual(6));
  for (const f of modelFiles) {
    it(`${f}: deep-equal after decode → encode → decode, byte-identical, same ORT outputs`, async () => {
      const bytes = readModel(f);
      const m = decodeModel(bytes);
      expect(defaultOpset(m)).toBe(13);
      const re = encodeModel(m);
      expect(firstDifference(decodeModel(re), m)).toBeNull();
      // torch writes fields in canonical order, so even the bytes come back unchanged.
      expect(Buffer.compare(Buffer.from(re), Buffer.from(bytes))).toBe(0);
      const s = inputSize(f);
      const x = { data: seeded(2 * 3 * s * s, 7), dims: [2, 3, s, s] };
      const a = await runOrt(bytes, { input: x });
      const b = await runOrt(re, { input: x });
      expect(b.logits!.data).toEqual(a.logits!.data);
    });
  }
});

describe('metadata, doc strings and value_info survive', () => {
  it('keeps fields the exporter did not write and ones it did', () => {
    const m = decodeModel(readModel('cifar10-resnet20.onnx'));
    m.metadataProps = [{ key: 'fsta', value: 'kept' }];
    m.docString = 'a model';
    m.graph!.docString = 'a graph';
    m.graph!.node![0]!.docString = 'first conv';
    m.graph!.valueInfo = [{ name: '/Relu_output_0', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 16 }] } } } }];
    const back = decodeModel(encodeModel(m));
    expect(back.metadataProps).toEqual([{ key: 'fsta', value: 'kept' }]);
    expect(back.docString).toBe('a model');
    expect(back.graph!.docString).toBe('a graph');
    expect(back.graph!.node![0]!.docString).toBe('first conv');
    expect(back.graph!.valueInfo![0]!.name).toBe('/Relu_output_0');
    expect(back.graph!.valueInfo![0]!.type!.tensorType!.shape!.dim![1]!.dimValue!.toString()).toBe('16');
  });
});

describe('bad bytes', () => {
  const expectCode = (fn: () => unknown, code: string, re?: RegExp) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(FstaError);
      expect((e as FstaError).code).toBe(code);
      if (re) expect((e as Error).message).toMatch(re);
      return;
    }
    throw new Error('expected an FstaError');
  };
  it('refuses empty, garbage, truncated and non-ONNX bytes', () => {
    expectCode(() => decodeModel(new Uint8Array(0)), 'CORRUPT_MODEL', /empty/);
    expectCode(() => decodeModel(new TextEncoder().encode('hello, this is not a model at all')), 'CORRUPT_MODEL');
    expectCode(() => decodeModel(new Uint8Array(seeded(1000, 3).buffer)), 'CORRUPT_MODEL');
    const bytes = readModel('cifar10-resnet20.onnx');
    expectCode(() => decodeModel(bytes.subarray(0, bytes.length >> 1)), 'CORRUPT_MODEL');
    expectCode(() => decodeModel(bytes.subarray(0, 100)), 'CORRUPT_MODEL');
    // A PNG is a valid-looking byte stream but not a model.
    expectCode(() => decodeModel(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])), 'CORRUPT_MODEL');
    expectCode(() => decodeModel('model.onnx' as unknown as Uint8Array), 'BAD_INPUT');
  });
  it('refuses external data, naming the tensor and the re-save fix', () => {
    const m = decodeModel(readModel('cifar10-resnet20.onnx'));
    const t = m.graph!.initializer![3]!;
    delete t.rawData;
    t.dataLocation = 1;
    t.externalData = [{ key: 'location', value: 'weights.bin' }];
    expectCode(() => decodeModel(encodeModel(m)), 'EXTERNAL_DATA', new RegExp(`"${t.name}".*weights\\.bin.*save_as_external_data=False`));
  });
});

describe('tensor helpers', () => {
  it('float32Initializer ↔ tensorToFloat32, int64Initializer ↔ tensorToNumbers', () => {
    const t = float32Initializer('w', [1.5, -2, 3.25, 0], [2, 2]);
    expect(Array.from(tensorToFloat32(t))).toEqual([1.5, -2, 3.25, 0]);
    expect(tensorToNumbers(int64Initializer('s', [0, -1, 9007199254740991]))).toEqual([0, -1, 9007199254740991]);
    expect(() => float32Initializer('w', [1, 2, 3], [2, 2])).toThrow(FstaError);
  });
  it('reads float_data, int32_data (int8) and raw int8 the same way', () => {
    expect(Array.from(tensorToFloat32({ name: 'a', dims: [3], dataType: 1, floatData: [1, 2.5, -3] }))).toEqual([1, 2.5, -3]);
    expect(tensorToNumbers({ name: 'b', dims: [3], dataType: 3, int32Data: [-128, 0, 127] })).toEqual([-128, 0, 127]);
    expect(tensorToNumbers({ name: 'c', dims: [3], dataType: 3, rawData: new Uint8Array([0x80, 0, 0x7f]) })).toEqual([-128, 0, 127]);
    expect(tensorToNumbers({ name: 'h', dims: [2], dataType: 10, rawData: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]) })).toEqual([1, -2]);
    expect(() => tensorToNumbers({ name: 'd', dims: [4], dataType: 1, rawData: new Uint8Array(8) })).toThrow(/"d" has 8 raw bytes/);
  });
  it('dequantizes the int8 MobileNetV2 weights to the float model’s weights (within one step)', () => {
    const q = decodeModel(readModel('imagenet-mobilenetv2-int8w.onnx'));
    const fl = decodeModel(readModel('imagenet-mobilenetv2.onnx'));
    const qi = new GraphIndex(q.graph!);
    const fi = new GraphIndex(fl.graph!);
    const dq = qi.nodes.find((n) => n.opType === 'DequantizeLinear')!;
    const [w, scale, zp] = dq.input!.map((n) => qi.initializers.get(n)!);
    expect(w!.dataType).toBe(3);
    const wq = tensorToNumbers(w!);
    const sc = tensorToNumbers(scale!);
    const z = zp ? tensorToNumbers(zp) : [0];
    const axis = attrInt(dq, 'axis', 1);
    if (sc.length > 1) expect(axis).toBe(0);
    const conv = qi.consumersOf(dq.output![0]!)[0]!;
    const floatConv = fi.nodes.find((n) => n.name === conv.name)!;
    const fw = tensorToFloat32(fi.initializers.get(floatConv.input![1]!)!);
    const per = wq.length / sc.length;
    let worst = 0;
    for (let i = 0; i < wq.length; i++) {
      const c = Math.floor(i / per);
      const deq = (wq[i]! - z[sc.length === z.length ? c : 0]!) * sc[c]!;
      worst = Math.max(worst, Math.abs(deq - fw[i]!) / sc[c]!);
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
    expect(attrInts(conv, 'kernel_shape')).toEqual(attrInts(floatConv, 'kernel_shape'));
  });
});

describe('GraphIndex', () => {
  it('orders nodes topologically and finds producers, consumers, ancestors', () => {
    const m = decodeModel(readModel('cifar10-resnet20.onnx'));
    const g = new GraphIndex(m.graph!);
    const pos = new Map(g.order.map((n, i) => [n, i]));
    for (const [i, n] of g.nodes.entries()) for (const x of n.input ?? []) {
      const p = g.producer.get(x);
      if (p !== undefined) expect(pos.get(p)!).toBeLessThan(pos.get(i)!);
    }
    expect(g.graphInputs).toEqual(['input']);
    expect(g.graphOutputs).toEqual(['logits']);
    const all = g.ancestors(['logits']);
    expect(all.length).toBe(g.nodes.length);
    const firstConv = g.consumersOf('input')[0]!;
    expect(firstConv.opType).toBe('Conv');
    const downstream = g.descendants('input').map((i) => g.nodes[i]!);
    expect(downstream).toContain(g.producerOf('logits'));
    expect(downstream.some((n) => n.opType === 'Constant')).toBe(false);
    expect(downstream.length).toBeGreaterThan(50);
  });
});
