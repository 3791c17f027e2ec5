#!/usr/bin/python3
"""Export one model of every torchvision family fsta claims to handle, for the family matrix.

    /usr/bin/python3 tools/family_matrix.py [--out .cache/models/family] [--force] [--only NAME ...]

Then `node tools/family-matrix.mjs` finds the stages of each export, patches it and compares
fsta/fs with what PyTorch computes here. Random weights (weights=None, fixed seed), batch-norm
statistics set from three random batches (the BN layers in train mode, cumulative average,
then eval) so activations are well scaled. Small inputs keep the run short on a CPU.

Per model, NAME.onnx and NAME.json: input name/shape, and from PyTorch on the probe input
(tools/export_torchvision.py's x[i] = ((i * 7919) % 1000) / 1000 - 0.5):
  - `c5`: the tensor that is C5 by definition (see C5 below), with its shape, sum, sum of
    |x|, min and FS = mean over C,H,W of |f - mean_HW(f)| (float64);
  - `tensors`: the same statistics for every 4-D float tensor any aten op produced, so that
    the node side can find the tensor fsta picked in PyTorch by its values.

C5 by definition: for a vision transformer, the last block's output before the final norm
(ViT: encoder.layers[-1], tokens (N, L, C), FS over the patch tokens, class token left out;
Swin: features[-1], channels-last (N, H, W, C)); `c5.fs` is then FS on that layout; for a
classifier, the tensor its head pools (the input of the global
pooling in front of the classifier; SqueezeNet: the input of its final conv classifier);
for a detector, the last map of its backbone body (SSD: the VGG trunk's fc7, extra.0;
SSDlite: the MobileNetV3 features); for a segmenter, the backbone's last output.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torchvision import probe_input  # noqa: E402

OPSET = 13
SEED = 0
CLS = 128  # classifier input size: C5 is 4x4 at stride 32


def fs64(t):
    """FS per the paper, batch item 0, in float64: mean over C,H,W of |f - mean_HW(f)|."""
    f = t[0].double()
    return float((f - f.mean(dim=(1, 2), keepdim=True)).abs().mean())


def fs_layout(t, layout):
    """FS of batch item 0 on a token layout, float64: ('nlc', prefix) drops the class token(s); 'nhwc'."""
    f = t[0].double()
    if layout[0] == 'nlc':
        f = f[layout[1]:]
        return float((f - f.mean(dim=0, keepdim=True)).abs().mean())
    return float((f - f.mean(dim=(0, 1), keepdim=True)).abs().mean())


def stats(t, layout=None):
    return {'shape': list(t.shape), 'sum': float(t.double().sum()), 'abs': float(t.double().abs().sum()),
            'min': float(t.min()), 'fs': fs_layout(t, layout) if layout else fs64(t)}


class Recorder(TorchDispatchMode):
    """Statistics of every 4-D float tensor an aten op returns (in-place ops included)."""

    def __init__(self):
        super().__init__()
        self.tensors = []
        self.seen = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else [out]
        for o in outs:
            if isinstance(o, torch.Tensor) and o.dim() == 4 and o.dtype == torch.float32 and o.numel() > 0:
                s = stats(o)
                key = (tuple(s['shape']), round(s['sum'], 6), round(s['abs'], 6))
                if key not in self.seen:
                    self.seen.add(key)
                    self.tensors.append(s)
        return out


def last_of(o):
    if isinstance(o, dict):
        return list(o.values())[-1]
    if isinstance(o, (list, tuple)):
        return o[-1]
    return o


def submodule(model, path):
    m = model
    for p in path.split('.'):
        m = m[int(p)] if p.isdigit() else getattr(m, p)
    return m


def cls(build, size=CLS, c5=('pre', 'avgpool'), note=''):
    return dict(build=build, kind='classifier', input=[1, 3, size, size], c5=c5, note=note)


def tokens(build, c5, layout, size=224, note=''):
    return dict(build=build, kind='classifier', input=[1, 3, size, size], c5=('out', c5), layout=layout, note=note)


def det(build, size=256, c5=('out', 'backbone.body'), note=''):
    return dict(build=build, kind='detector', input=[3, size, size], c5=c5, note=note)


def seg(build, size=CLS, c5=('out', 'backbone'), note=''):
    return dict(build=build, kind='segmenter', input=[1, 3, size, size], c5=c5, note=note)


def narrow_vgg():
    # VGG's 4096-wide classifier is 0.5 GB of random weights; its width does not change the stages.
    v = torchvision.models.vgg11_bn(weights=None)
    v.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, 256),
                                 nn.ReLU(True), nn.Dropout(), nn.Linear(256, 1000))
    return v


def builders():
    m = torchvision.models
    d = m.detection
    s = m.segmentation
    nb = dict(weights=None, weights_backbone=None)
    # Fewer proposals and detections than torchvision's defaults: the heads' cost, not the backbone's, dominates a CPU export.
    few = dict(min_size=256, max_size=256, rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=100, box_detections_per_img=10)
    few1 = dict(min_size=256, max_size=256, detections_per_img=10, topk_candidates=100)
    return {
        'resnet18': cls(lambda: m.resnet18(weights=None)),
        'resnet50': cls(lambda: m.resnet50(weights=None)),
        'wide_resnet50_2': cls(lambda: m.wide_resnet50_2(weights=None)),
        'resnext50_32x4d': cls(lambda: m.resnext50_32x4d(weights=None)),
        'densenet121': cls(lambda: m.densenet121(weights=None), c5=('fn', lambda mm, x: F.relu(mm.features(x)))),
        'mobilenet_v2': cls(lambda: m.mobilenet_v2(weights=None), c5=('out', 'features')),
        'mobilenet_v3_large': cls(lambda: m.mobilenet_v3_large(weights=None)),
        'mobilenet_v3_small': cls(lambda: m.mobilenet_v3_small(weights=None)),
        'efficientnet_b0': cls(lambda: m.efficientnet_b0(weights=None)),
        'efficientnet_v2_s': cls(lambda: m.efficientnet_v2_s(weights=None)),
        'regnet_x_400mf': cls(lambda: m.regnet_x_400mf(weights=None)),
        'regnet_y_400mf': cls(lambda: m.regnet_y_400mf(weights=None)),
        'convnext_tiny': cls(lambda: m.convnext_tiny(weights=None)),
        'shufflenet_v2_x0_5': cls(lambda: m.shufflenet_v2_x0_5(weights=None), c5=('out', 'conv5')),
        'squeezenet1_1': cls(lambda: m.squeezenet1_1(weights=None), size=224, c5=('out', 'features'),
                             note='224: the issue\'s 13x13 C5'),
        'googlenet': cls(lambda: m.googlenet(weights=None, aux_logits=False, init_weights=True)),
        'inception_v3': cls(lambda: m.inception_v3(weights=None, aux_logits=False, init_weights=True), size=299,
                            note='299: its unpadded convolutions make smaller inputs look like stride 64'),
        'vgg11_bn': cls(narrow_vgg, size=224, note='224: adaptive pooling to 7x7 exports only from a 7x7 map; classifier narrowed to 256 wide'),
        'mnasnet0_5': cls(lambda: m.mnasnet0_5(weights=None), c5=('out', 'layers')),
        'vit_b_16': tokens(lambda: m.vit_b_16(weights=None), 'encoder.layers.encoder_layer_11', ('nlc', 1),
                           note='224: its position embedding fixes the input size; FS on the patch tokens'),
        'swin_t': tokens(lambda: m.swin_t(weights=None), 'features.7', ('nhwc',), note='224; channels-last stages'),
        'fasterrcnn_resnet50_fpn': det(lambda: d.fasterrcnn_resnet50_fpn(**nb, **few)),
        'fasterrcnn_resnet50_fpn_v2': det(lambda: d.fasterrcnn_resnet50_fpn_v2(**nb, **few)),
        'fasterrcnn_mobilenet_v3_large_fpn': det(
            lambda: d.fasterrcnn_mobilenet_v3_large_fpn(**nb, **few)),
        'retinanet_resnet50_fpn': det(lambda: d.retinanet_resnet50_fpn(**nb, **few1)),
        'fcos_resnet50_fpn': det(lambda: d.fcos_resnet50_fpn(**nb, **few1)),
        'ssd300_vgg16': det(lambda: d.ssd300_vgg16(**nb, detections_per_img=10, topk_candidates=100), size=300, c5=('out', 'backbone.extra.0')),
        'ssdlite320_mobilenet_v3_large': det(lambda: d.ssdlite320_mobilenet_v3_large(**nb, detections_per_img=10, topk_candidates=100), size=320,
                                             c5=('out', 'backbone.features.1')),
        'maskrcnn_resnet50_fpn': det(lambda: d.maskrcnn_resnet50_fpn(**nb, **few)),
        'keypointrcnn_resnet50_fpn': det(lambda: d.keypointrcnn_resnet50_fpn(**nb, **few)),
        'fcn_resnet50': seg(lambda: s.fcn_resnet50(**nb, aux_loss=False)),
        'deeplabv3_resnet50': seg(lambda: s.deeplabv3_resnet50(**nb, aux_loss=False)),
        'deeplabv3_mobilenet_v3_large': seg(lambda: s.deeplabv3_mobilenet_v3_large(**nb, aux_loss=False)),
        'lraspp_mobilenet_v3_large': seg(lambda: s.lraspp_mobilenet_v3_large(**nb)),
    }


def calibrate_bn(model, spec):
    """BN statistics from three random batches: BN layers in train mode (cumulative average), the rest in eval."""
    torch.manual_seed(SEED)
    bns = [mm for mm in model.modules() if isinstance(mm, nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.eval()
    for bn in bns:
        bn.train()
    g = torch.Generator().manual_seed(SEED + 1)
    # Detectors: through the backbone only (normalized random images); the heads' BN keep mean 0, var 1.
    net = model.backbone if spec['kind'] == 'detector' else model
    shape = [4] + spec['input'][-3:]
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(shape, generator=g))
    model.eval()


def reference_c5(model, spec, x):
    how, where = spec['c5']
    got = []
    if how == 'fn':
        with torch.no_grad():
            return where(model, x)
    mod = submodule(model, where)
    if how == 'pre':
        h = mod.register_forward_pre_hook(lambda _m, inp: got.append(inp[0].detach().clone()))
    else:
        h = mod.register_forward_hook(lambda _m, _i, out: got.append(last_of(out).detach().clone()))
    with torch.no_grad():
        model([x] if spec['kind'] == 'detector' else x)
    h.remove()
    return got[-1]


def export(name, spec, out_dir):
    torch.manual_seed(SEED)
    t0 = time.time()
    model = spec['build']()
    calibrate_bn(model, spec)
    x = probe_input(spec['input'])
    args = ([x],) if spec['kind'] == 'detector' else (x,)
    rec = Recorder()
    with torch.no_grad(), rec:
        ref = model(*args)
    c5 = reference_c5(model, spec, x)
    if spec['kind'] == 'detector':
        out_names = list(ref[0].keys())
    elif isinstance(ref, dict):
        out_names = list(ref.keys())
    else:
        out_names = ['logits']
    dynamic = None if spec['kind'] == 'detector' else {'input': {0: 'batch'}, **{o: {0: 'batch'} for o in out_names}}
    onnx_path = os.path.join(out_dir, name + '.onnx')
    # torch 1.13 exports torchvision's ViT only with gradients enabled.
    with torch.enable_grad() if spec.get('layout') else torch.no_grad():
        torch.onnx.export(model, args, onnx_path + '.tmp', opset_version=OPSET, do_constant_folding=True,
                          input_names=['input'], output_names=out_names, dynamic_axes=dynamic)
    os.replace(onnx_path + '.tmp', onnx_path)
    meta = {
        'model': name, 'file': name + '.onnx', 'kind': spec['kind'], 'note': spec['note'],
        'source': f'torchvision {torchvision.__version__}, torch {torch.__version__}, random weights '
                  f'(torch.manual_seed({SEED})), BN statistics from 3 random batches',
        'opset': OPSET, 'input': {'name': 'input', 'shape': spec['input'], 'dynamic_batch': dynamic is not None},
        'outputs': out_names,
        'c5_definition': f'{spec["c5"][0]} {spec["c5"][1] if isinstance(spec["c5"][1], str) else "relu(features(x))"}',
        'c5': stats(c5, spec.get('layout')),
        'tensors': rec.tensors,
    }
    with open(os.path.join(out_dir, name + '.json'), 'w') as f:
        json.dump(meta, f)
    print(f'exported {name} in {time.time() - t0:.1f}s (C5 {list(c5.shape)})', flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(here, '..', '.cache', 'models', 'family'))
    ap.add_argument('--force', action='store_true')
    ap.add_argument('--only', nargs='*')
    ap.add_argument('--list', action='store_true', help='print the model names and exit')
    a = ap.parse_args()
    specs = builders()
    if a.list:
        print('\n'.join(specs))
        return
    names = a.only or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        sys.exit(f'unknown model(s) {unknown}; known: {list(specs)}')
    os.makedirs(a.out, exist_ok=True)
    failed = []
    for name in names:
        if not a.force and all(os.path.exists(os.path.join(a.out, name + e)) for e in ('.onnx', '.json')):
            print(f'{name}: exists, skipped (--force to redo)')
            continue
        try:
            export(name, specs[name], a.out)
        except Exception as e:  # one family that does not export must not stop the others
            failed.append(name)
            print(f'{name}: export FAILED: {type(e).__name__}: {e}', flush=True)
    if failed:
        sys.exit(f'export failed for {failed}')


if __name__ == '__main__':
    main()
