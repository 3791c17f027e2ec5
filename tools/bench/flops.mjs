// @ts-check
// Multiply-accumulates from an ONNX graph and the FLOP lower bound of FS+TA:
// TA re-runs the nodes between the TA stage and the FS stage, so a patched model
// costs at least 1 + MACs(those nodes) / MACs(whole model).
import { GraphIndex, tensorDims } from '@fsta/onnx';

const MAC_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** @param {readonly (number|string)[] | undefined} dims */
const known = (dims) => dims !== undefined && dims.every((d) => typeof d === 'number' && d >= 0);

/**
 * MACs of one node for one sample (the batch axis is skipped: it may be symbolic).
 * @param {import('@fsta/onnx').OnnxNode} node
 * @param {(t: string) => readonly (number|string)[] | undefined} shapeOf
 */
export function nodeMacs(node, shapeOf) {
  if (!MAC_OPS.has(node.opType ?? '')) return 0;
  const out = shapeOf(node.output?.[0] ?? '');
  const a = shapeOf(node.input?.[0] ?? '');
  const w = shapeOf(node.input?.[1] ?? '');
  const fail = () => new Error(`cannot count MACs of ${node.opType} "${node.name}": shapes unknown (out ${JSON.stringify(out)}, a ${JSON.stringify(a)}, b ${JSON.stringify(w)})`);
  if (!out || !known(out.slice(1))) throw fail();
  const perSample = /** @type {number[]} */ (out.slice(1)).reduce((p, d) => p * d, 1);
  if (node.opType === 'Conv') {
    if (!known(w)) throw fail();
    return perSample * /** @type {number[]} */ (w).slice(1).reduce((p, d) => p * d, 1); // Cin/group · kh · kw
  }
  if (node.opType === 'ConvTranspose') {
    if (!known(w) || !known(a?.slice(1))) throw fail();
    const [cin, coutPerGroup, ...k] = /** @type {number[]} */ (w);
    const inSpatial = /** @type {number[]} */ (a).slice(2).reduce((p, d) => p * d, 1);
    return cin * coutPerGroup * k.reduce((p, d) => p * d, 1) * inSpatial;
  }
  const transA = node.opType === 'Gemm' && Number(node.attribute?.find((x) => x.name === 'transA')?.i ?? 0) === 1;
  const k = transA ? a?.[0] : a?.at(-1); // Gemm's A is [M, K] (or [K, M]); MatMul's is [..., K]
  if (typeof k !== 'number' || k < 0) throw fail();
  return perSample * k;
}

/**
 * Nodes TA re-runs: downstream of the TA tensor and upstream of the FS tensor.
 * @param {GraphIndex} index
 */
export function taTailNodes(index, taTensor, fsTensor) {
  const up = new Set(index.ancestors([fsTensor]));
  return index.descendants(taTensor).filter((i) => up.has(i));
}

/**
 * @param {import('@fsta/onnx').OnnxModel} model
 * @param {ReadonlyMap<string, readonly (number|string)[] | undefined>} shapes
 * @param {{ taTensor: string, fsTensor: string }} stages
 */
export function flopBound(model, shapes, stages) {
  const graph = model.graph ?? {};
  const init = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', tensorDims(t)]));
  const shapeOf = (/** @type {string} */ t) => shapes.get(t) ?? init.get(t);
  const index = new GraphIndex(graph);
  const nodes = graph.node ?? [];
  const macs = nodes.map((n) => nodeMacs(n, shapeOf));
  /** @type {Record<string, number>} */
  const byOp = {};
  nodes.forEach((n, i) => { if (macs[i]) byOp[n.opType ?? ''] = (byOp[n.opType ?? ''] ?? 0) + /** @type {number} */ (macs[i]); });
  const totalMacs = macs.reduce((p, m) => p + m, 0);
  const taTailMacs = taTailNodes(index, stages.taTensor, stages.fsTensor).reduce((p, i) => p + /** @type {number} */ (macs[i]), 0);
  if (totalMacs === 0) throw new Error('the model has no Conv, Gemm or MatMul node: no FLOP bound');
  return { totalMacs, taTailMacs, byOp, bound: 1 + taTailMacs / totalMacs };
}
