#!/usr/bin/env node
/**
 * Rebuilds a CIFAR ResNet (He et al. 2016, option-A shortcuts) as a TensorFlow.js
 * LayersModel from the weights in its ONNX export, for the @fsta/tfjs tests.
 *
 *   node tools/onnx-to-tfjs-resnet.mjs ../shared/models/cifar10-resnet20.onnx .cache/tfjs/cifar10-resnet20
 *
 * Writes model.json + weights.bin into the output folder. The output is derived from
 * ../shared and stays in the git-ignored .cache; it is never committed.
 *
 * Layer names: `layer1` … `layer3` are the stage outputs (the last block's ReLU),
 * `layerS.B` each block's output, `logits` the classifier head.
 * The block structure is read from the ONNX node names torch.onnx.export writes:
 * `/layerS/layerS.B/convN/Conv` (CIFAR ResNets, blocks in an nn.Sequential) or
 * `/layerS/convN/Conv` (one block per stage, as the CLI's demo MiniResNet, made by
 * tools/train_demo_model.py). A block whose shortcut is a conv
 * (`…/shortcut/shortcut.0/Conv`, 1x1 with the BatchNorm folded in) keeps it;
 * otherwise a channel change is the option-A shortcut below. This is a fixture tool
 * for these checkpoints, not a general ONNX → tfjs converter.
 *
 *   node tools/onnx-to-tfjs-resnet.mjs apps/cli/assets/demo/model.onnx apps/web/.build/tfjs-demo
 *
 * Exactness: 3x3 convs keep PyTorch's symmetric padding (ZeroPadding2D + 'valid',
 * because TF's 'same' pads stride-2 convs asymmetrically). The option-A shortcut
 * x[:, :, ::2, ::2] zero-padded by C/4 channels each side is a 1x1 stride-2 'valid'
 * conv whose kernel is 1 at (c, c + C/4) and 0 elsewhere: every output is one input
 * times 1 plus zeros, so it is bit-exact.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Reader } = require('protobufjs/minimal');

/** The few ONNX protobuf fields this tool needs (onnx.proto: ModelProto.graph = 7, …). */
function parseOnnx(bytes) {
  const fields = (buf, handlers) => {
    const r = Reader.create(buf);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const h = handlers[tag >>> 3];
      if (h && (tag & 7) === 2) h(r.bytes());
      else r.skipType(tag & 7);
    }
  };
  const text = (b) => new TextDecoder().decode(b);
  const nodes = [];
  const inits = new Map();
  fields(bytes, {
    7: (graph) =>
      fields(graph, {
        1: (b) => {
          const n = { input: [], output: [], name: '', opType: '' };
          fields(b, { 1: (x) => n.input.push(text(x)), 2: (x) => n.output.push(text(x)), 3: (x) => (n.name = text(x)), 4: (x) => (n.opType = text(x)) });
          nodes.push(n);
        },
        5: (b) => {
          const t = { dims: [], dataType: 0, name: '', raw: null };
          const r = Reader.create(b);
          while (r.pos < r.len) {
            const tag = r.uint32();
            const f = tag >>> 3, wt = tag & 7;
            if (f === 1 && wt === 0) t.dims.push(Number(r.int64()));
            else if (f === 1 && wt === 2) { const e = r.uint32() + r.pos; while (r.pos < e) t.dims.push(Number(r.int64())); }
            else if (f === 2 && wt === 0) t.dataType = r.int32();
            else if (f === 8 && wt === 2) t.name = text(r.bytes());
            else if (f === 9 && wt === 2) t.raw = r.bytes();
            else r.skipType(wt);
          }
          if (t.dataType !== 1 || !t.raw) throw new Error(`initializer ${t.name}: expected float32 raw_data (data_type ${t.dataType})`);
          const copy = new Uint8Array(t.raw);
          inits.set(t.name, { dims: t.dims, data: new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4) });
        },
      }),
  });
  return { nodes, inits };
}

/** ONNX conv weight (O, I, kh, kw) → Keras kernel (kh, kw, I, O). */
function kerasKernel({ dims: [O, I, kh, kw], data }) {
  const out = new Float32Array(data.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * I + i) * O + o] = data[((o * I + i) * kh + y) * kw + x];
  return { shape: [kh, kw, I, O], data: out };
}

export function convertResnet(onnxPath, outDir) {
  const { nodes, inits } = parseOnnx(readFileSync(onnxPath));
  const convs = new Map(nodes.filter((n) => n.opType === 'Conv').map((n) => [n.name, n]));
  const gemm = nodes.find((n) => n.opType === 'Gemm');
  if (!convs.has('/conv1/Conv') || !gemm) throw new Error(`${onnxPath}: not a CIFAR ResNet export (no /conv1/Conv or Gemm)`);

  const layers = [];
  const weights = [];
  const add = (className, name, config, inbound) =>
    layers.push({ class_name: className, name, config: { name, trainable: true, ...config }, inbound_nodes: inbound.length ? [inbound.map((i) => [i, 0, 0, {}])] : [] });
  const addWeight = (name, shape, data) => weights.push({ name, shape, data });
  const conv = (name, input, onnxNode, stride) => {
    const [, w, b] = onnxNode.input;
    const k = kerasKernel(inits.get(w));
    const size = k.shape[0];
    let src = input;
    // 1x1 convs have no padding; 'valid' samples the same pixels as ONNX's pads 0.
    if (stride !== 1 && size > 1) {
      add('ZeroPadding2D', `${name}.pad`, { padding: [[1, 1], [1, 1]], data_format: 'channels_last' }, [input]);
      src = `${name}.pad`;
    }
    add('Conv2D', name, { filters: k.shape[3], kernel_size: [size, size], strides: [stride, stride], padding: stride === 1 && size > 1 ? 'same' : 'valid', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: Boolean(b) }, [src]);
    addWeight(`${name}/kernel`, k.shape, k.data);
    if (b) addWeight(`${name}/bias`, [k.shape[3]], inits.get(b).data);
    return k.shape[3];
  };
  const relu = (name, input) => add('Activation', name, { activation: 'relu' }, [input]);

  add('InputLayer', 'input', { batch_input_shape: [null, 32, 32, 3], dtype: 'float32', sparse: false }, []);
  let channels = conv('conv1', 'input', convs.get('/conv1/Conv'), 1);
  relu('relu', 'conv1');
  let prev = 'relu';
  // ONNX node-name prefix of block b of stage s, in either export layout (null: no such block).
  const blockPath = (s, b) => (convs.has(`/layer${s}/layer${s}.${b}/conv1/Conv`) ? `/layer${s}/layer${s}.${b}` : b === 0 && convs.has(`/layer${s}/conv1/Conv`) ? `/layer${s}` : null);
  for (let s = 1; blockPath(s, 0); s++) {
    let blocks = 0;
    while (blockPath(s, blocks)) blocks++;
    for (let bi = 0; bi < blocks; bi++) {
      const p = `layer${s}.${bi}`;
      const path = blockPath(s, bi);
      const c1 = convs.get(`${path}/conv1/Conv`);
      const stride = s > 1 && bi === 0 ? 2 : 1;
      const out = conv(`${p}.conv1`, prev, c1, stride);
      relu(`${p}.relu1`, `${p}.conv1`);
      conv(`${p}.conv2`, `${p}.relu1`, convs.get(`${path}/conv2/Conv`), 1);
      let shortcut = prev;
      const shortcutConv = convs.get(`${path}/shortcut/shortcut.0/Conv`);
      if (shortcutConv) {
        conv(`${p}.shortcut`, prev, shortcutConv, stride);
        shortcut = `${p}.shortcut`;
      } else if (out !== channels) {
        const padC = (out - channels) / 2;
        const k = new Float32Array(channels * out);
        for (let c = 0; c < channels; c++) k[c * out + c + padC] = 1;
        add('Conv2D', `${p}.shortcut`, { filters: out, kernel_size: [1, 1], strides: [2, 2], padding: 'valid', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: false }, [prev]);
        addWeight(`${p}.shortcut/kernel`, [1, 1, channels, out], k);
        shortcut = `${p}.shortcut`;
      }
      add('Add', `${p}.add`, {}, [`${p}.conv2`, shortcut]);
      const name = bi === blocks - 1 ? `layer${s}` : p;
      relu(name, `${p}.add`);
      prev = name;
      channels = out;
    }
  }
  add('GlobalAveragePooling2D', 'avgpool', { data_format: 'channels_last' }, [prev]);
  const W = inits.get(gemm.input[1]);
  const [O, D] = W.dims;
  const kernel = new Float32Array(D * O);
  for (let o = 0; o < O; o++) for (let d = 0; d < D; d++) kernel[d * O + o] = W.data[o * D + d];
  add('Dense', 'logits', { units: O, activation: 'linear', use_bias: true }, ['avgpool']);
  addWeight('logits/kernel', [D, O], kernel);
  addWeight('logits/bias', [O], inits.get(gemm.input[2]).data);

  const command = `node tools/onnx-to-tfjs-resnet.mjs ${onnxPath} ${outDir}`;
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'fsta tools/onnx-to-tfjs-resnet.mjs',
    convertedBy: command,
    modelTopology: {
      class_name: 'Model',
      config: { name: 'cifar_resnet', layers, input_layers: [['input', 0, 0]], output_layers: [['logits', 0, 0]] },
      keras_version: 'tfjs-layers 4',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.map(({ name, shape }) => ({ name, shape, dtype: 'float32' })) }],
  };
  mkdirSync(outDir, { recursive: true });
  const bin = Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  writeFileSync(join(outDir, 'weights.bin'), bin);
  writeFileSync(join(outDir, 'model.json'), JSON.stringify(modelJson));
  return { modelJson: join(outDir, 'model.json'), layers: layers.length, weightBytes: bin.length };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [onnxPath, outDir] = process.argv.slice(2);
  if (!onnxPath || !outDir) {
    console.error('usage: node tools/onnx-to-tfjs-resnet.mjs <model.onnx> <out-dir>');
    process.exit(2);
  }
  console.log(convertResnet(onnxPath, outDir));
}
