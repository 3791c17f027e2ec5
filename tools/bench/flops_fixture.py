#!/usr/bin/python3
"""Independent MAC counts for the bench's FLOP bound, from onnx's own shape inference.

    /usr/bin/python3 tools/bench/flops_fixture.py > tools/bench/flops-fixture.json

Per model (batch 1): total multiply-accumulates of Conv, Gemm and MatMul nodes, the
per-op-type split, and the MACs of the nodes TA re-runs: those downstream of the TA
stage tensor and upstream of the FS stage tensor. Stage tensors are found by the same
rule as @fsta/backbones' manifests (the output of the last node, in graph order, under
the module path with the given op types), so the TS test also checks the two agree.
"""
import json
import os
import sys

import onnx
from onnx import shape_inference

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
MODELS = {
    'resnet50': dict(path='.cache/models/resnet50.onnx', ta=('/layer3/', ['Relu']), fs=('/layer4/', ['Relu'])),
    'cifar10-resnet56': dict(path='../shared/models/cifar10-resnet56.onnx', ta=('/layer2/', ['Relu']), fs=('/layer3/', ['Relu'])),
    'imagenet-mobilenetv2': dict(path='../shared/models/imagenet-mobilenetv2.onnx',
                                 ta=('/features/features.14/conv/conv.0/', ['Relu', 'Clip']), fs=('/features/features.18/', ['Relu', 'Clip'])),
}


def stage_tensor(graph, prefix, ops):
    last = [n for n in graph.node if n.name.startswith(prefix) and n.op_type in ops][-1]
    return last.output[0]


def count(rel, ta_sel, fs_sel):
    model = onnx.load(os.path.join(ROOT, rel))
    for d in model.graph.input[0].type.tensor_type.shape.dim[:1]:
        d.Clear()
        d.dim_value = 1
    model = shape_inference.infer_shapes(model)
    g = model.graph
    shapes = {}
    for v in list(g.value_info) + list(g.input) + list(g.output):
        shapes[v.name] = [d.dim_value if d.HasField('dim_value') else None for d in v.type.tensor_type.shape.dim]
    for t in g.initializer:
        shapes[t.name] = list(t.dims)
    ta, fs = stage_tensor(g, *ta_sel), stage_tensor(g, *fs_sel)

    # Per sample: the batch axis is skipped (option-A shortcuts' data-dependent Pad
    # leaves it unknown after shape inference); any other unknown dim is an error.
    def macs(n):
        if n.op_type not in ('Conv', 'Gemm', 'MatMul'):
            return 0
        out = shapes[n.output[0]][1:]
        if any(d is None for d in out):
            raise SystemExit(f'{n.name}: output shape unknown ({shapes[n.output[0]]})')
        prod = 1
        for d in out:
            prod *= d
        if n.op_type == 'Conv':
            w = shapes[n.input[1]]
            k = 1
            for d in w[1:]:
                k *= d
            return prod * k
        if n.op_type == 'Gemm':
            a = shapes[n.input[0]]
            trans_a = next((x.i for x in n.attribute if x.name == 'transA'), 0)
            return prod * (a[0] if trans_a else a[1])  # out[1:] is [N], times K
        if n.op_type == 'MatMul':
            return prod * shapes[n.input[0]][-1]
        return 0

    # Downstream of ta (forward), upstream of fs (backward), over graph order.
    down = {ta}
    for n in g.node:
        if any(i in down for i in n.input):
            down.update(n.output)
    up = {fs}
    for n in reversed(g.node):
        if any(o in up for o in n.output):
            up.update(i for i in n.input)
    total, tail, by_op = 0, 0, {}
    for n in g.node:
        m = macs(n)
        total += m
        by_op[n.op_type] = by_op.get(n.op_type, 0) + m if m else by_op.get(n.op_type, 0)
        if m and n.output[0] in down and n.output[0] in up:
            tail += m
    by_op = {k: v for k, v in by_op.items() if v}
    return dict(model=rel, taTensor=ta, fsTensor=fs, totalMacs=total, taTailMacs=tail, macsByOp=by_op,
                bound=1 + tail / total)


def main():
    out = dict(command='/usr/bin/python3 tools/bench/flops_fixture.py > tools/bench/flops-fixture.json',
               onnx=onnx.__version__, batch=1,
               models={name: count(m['path'], m['ta'], m['fs']) for name, m in MODELS.items()})
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
