// @ts-check
// Graph surgery for the "stage-split" variant: the way FS+TA runs without a
// patched graph. Session 1 is the model with its stage tensors as extra outputs;
// session 2 is the part between the TA and FS stages, fed ReLU(stage − k) from the host.
import { GraphIndex } from '@fsta/onnx';
import { taTailNodes } from './flops.mjs';

const floatInfo = (/** @type {string} */ name) => ({ name, type: { tensorType: { elemType: 1 } } });

/**
 * The model, also outputting `tensors` (their types left to the runtime).
 * @param {import('@fsta/onnx').OnnxModel} model
 * @param {readonly string[]} tensors
 */
export function withOutputs(model, tensors) {
  const graph = model.graph ?? {};
  const have = new Set((graph.output ?? []).map((o) => o.name));
  return { ...model, graph: { ...graph, output: [...(graph.output ?? []), ...tensors.filter((t) => !have.has(t)).map((name) => ({ name }))] } };
}

/**
 * The sub-model from the TA tensor (a new graph input) to the FS tensor (its only
 * output), with only the initializers it reads.
 * @param {import('@fsta/onnx').OnnxModel} model
 */
export function tailModel(model, taTensor, fsTensor) {
  const graph = model.graph ?? {};
  const index = new GraphIndex(graph);
  // Exporters compute pads and shapes with Constant nodes (CIFAR option-A shortcuts):
  // bring along every input-free node the tail reads.
  const readsInput = (/** @type {number} */ j) => (index.nodes[j]?.input ?? []).some((t) => index.graphInputs.includes(t));
  const constant = (/** @type {number} */ i) => ![i, ...index.ancestors(index.nodes[i]?.input ?? [])].some(readsInput);
  const tail = taTailNodes(index, taTensor, fsTensor);
  const inTail = new Set(tail);
  const extra = new Set();
  const pull = (/** @type {number} */ i) => {
    for (const t of index.nodes[i]?.input ?? []) {
      const p = index.producer.get(t);
      if (p === undefined || inTail.has(p) || extra.has(p) || !constant(p)) continue;
      extra.add(p);
      pull(p);
    }
  };
  tail.forEach(pull);
  const nodes = index.order.filter((i) => inTail.has(i) || extra.has(i)).map((i) => /** @type {import('@fsta/onnx').OnnxNode} */ (index.nodes[i]));
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const read = new Set(nodes.flatMap((n) => n.input ?? []).filter((t) => t !== '' && !produced.has(t)));
  const initializer = (graph.initializer ?? []).filter((t) => read.has(t.name ?? ''));
  const fromInit = new Set(initializer.map((t) => t.name));
  const outsideInputs = [...read].filter((t) => t !== taTensor && !fromInit.has(t));
  if (outsideInputs.length > 0) throw new Error(`the TA→FS part reads tensors from before the TA stage (${outsideInputs.join(', ')}); it cannot be cut there`);
  return {
    ...model,
    graph: { name: 'ta-tail', node: nodes, initializer, input: [floatInfo(taTensor)], output: [floatInfo(fsTensor)] },
  };
}
