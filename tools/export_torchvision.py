#!/usr/bin/python3
"""Export torchvision models with random weights to ONNX for fsta's stage and patch tests.

Run with Debian's python3 (python3-torch 1.13, python3-torchvision 0.14):

    /usr/bin/python3 tools/export_torchvision.py [--out .cache/models] [--force] [--only NAME ...]

Writes NAME.onnx and NAME.json (input name and shape, output names and shapes, the
command, and a probe: the model's own outputs on a deterministic input, so that a
runtime loading the export can be checked against torch) per model, and for
ResNet-50 also NAME.pt, the state_dict exported (the benchmark's PyTorch reference
loads it). Existing exports are kept unless --force or one of their files is
missing. No weights are downloaded: every model is built with weights=None and a
fixed seed, so the files are reproducible on one machine (random weights are enough:
stage detection and patching depend on the graph, and the tests compare numbers
against the same model run in onnxruntime).

Token models (small configs, so that CI stays fast): `vit_tiny` (torchvision
VisionTransformer, 4 blocks, hidden 192) and `swin_tiny` (torchvision SwinTransformer,
embed 32, depths 2/2/2/2). Their sidecar also records, under `tokens`, PyTorch's FS on
the probe input taken with forward hooks on the blocks fsta's stage discovery names
(docs/backbones.md): C5 = the last block's output, C4 = the TA block, FS = mean over C and
the patch tokens of |t - mean_tokens(t)| (the class token left out, before the final
norm), and FS+TA with TA = ReLU(t - k) on the C4 block's output. torch 1.13 exports
torchvision's ViT only with gradients enabled (`export_with_grad`).

Input sizes: classifiers and FCN at 224x224 with a dynamic batch axis. Faster R-CNN
takes a list of images and resizes them internally, so it is built with
min_size=max_size=320 and exported for one fixed 1x3x320x320 image (its outputs,
boxes/labels/scores, have a data-dependent length; the batch axis cannot be dynamic).
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision

OPSET = 13
SEED = 0


def probe_input(shape):
    # Integer arithmetic, exactly reproducible in float32 in any language:
    # x[i] = ((i * 7919) % 1000) / 1000 - 0.5, row-major over `shape`.
    n = 1
    for d in shape:
        n *= d
    i = torch.arange(n, dtype=torch.int64)
    return (((i * 7919) % 1000).to(torch.float32) / 1000.0 - 0.5).reshape(shape)


def fs_tokens(t, layout, prefix):
    """FS of batch item 0 in float64: mean over C and the positions of |f - mean over positions|."""
    f = t[0].double()
    if layout == 'nlc':  # (L, C): leave the class token(s) out, positions on axis 0
        f = f[prefix:]
        return float((f - f.mean(dim=0, keepdim=True)).abs().mean())
    # 'nhwc': (H, W, C)
    return float((f - f.mean(dim=(0, 1), keepdim=True)).abs().mean())


def token_reference(model, x, tok):
    """PyTorch's FS at C5 and FS+TA (TA at C4, k = tok['k']) through forward hooks on the blocks."""
    c4, c5 = submodule(model, tok['c4']), submodule(model, tok['c5'])
    got = {}
    h5 = c5.register_forward_hook(lambda _m, _i, out: got.__setitem__('c5', out.detach().clone()))
    h4 = c4.register_forward_hook(lambda _m, _i, out: got.__setitem__('c4', out.detach().clone()))
    with torch.no_grad():
        model(x)
    plain = dict(got)
    h4.remove()
    h4 = c4.register_forward_hook(lambda _m, _i, out: torch.relu(out - tok['k']))
    with torch.no_grad():
        model(x)
    h4.remove()
    h5.remove()
    stat = lambda t: {'shape': list(t.shape), 'sum': float(t.double().sum())}
    return {
        'layout': tok['layout'], 'prefix_tokens': tok['prefix'], 'k': tok['k'],
        'c5_module': tok['c5'], 'c4_module': tok['c4'], 'c5': stat(plain['c5']), 'c4': stat(plain['c4']),
        'fs': fs_tokens(plain['c5'], tok['layout'], tok['prefix']),
        'fs_ta': fs_tokens(got['c5'], tok['layout'], tok['prefix']),
    }


def submodule(model, path):
    m = model
    for p in path.split('.'):
        m = m[int(p)] if p.isdigit() else getattr(m, p)
    return m


def with_random_head(model, head):
    # torchvision zero-initializes the ViT head: random weights make the logits (and msp/energy) informative.
    torch.nn.init.normal_(submodule(model, head).weight, std=0.02)
    return model


def vit_tiny():
    from torchvision.models.vision_transformer import VisionTransformer
    return with_random_head(VisionTransformer(image_size=224, patch_size=16, num_layers=4, num_heads=3, hidden_dim=192,
                                              mlp_dim=768), 'heads.head')


def swin_tiny():
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2, 2, 2], num_heads=[2, 2, 2, 2],
                           window_size=[7, 7], stochastic_depth_prob=0.0)


def builders():
    m = torchvision.models
    return {
        'resnet18': dict(build=lambda: m.resnet18(weights=None), input=[1, 3, 224, 224], dynamic_batch=True,
                         outputs=['logits']),
        # The PyTorch reference of the benchmark (tools/bench-torch.py --model resnet50)
        # loads the state_dict saved beside the export, so both run identical weights.
        'resnet50': dict(build=lambda: m.resnet50(weights=None), input=[1, 3, 224, 224], dynamic_batch=True,
                         outputs=['logits'], save_state_dict=True),
        'densenet121': dict(build=lambda: m.densenet121(weights=None), input=[1, 3, 224, 224], dynamic_batch=True,
                            outputs=['logits']),
        'fcn_resnet50': dict(
            build=lambda: m.segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False),
            input=[1, 3, 224, 224], dynamic_batch=True, outputs=['out']),
        'fasterrcnn_resnet50_fpn': dict(
            build=lambda: m.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None,
                                                               min_size=320, max_size=320),
            input=[3, 320, 320], dynamic_batch=False, outputs=['boxes', 'labels', 'scores'], detector=True),
        # Token models: C5 = last block, C4 (TA) = the middle ViT block / the third Swin stage; k = fsta's auto default 0.5.
        'vit_tiny': dict(build=vit_tiny, input=[1, 3, 224, 224], dynamic_batch=True, outputs=['logits'], export_with_grad=True,
                         tokens=dict(layout='nlc', prefix=1, c5='encoder.layers.encoder_layer_3',
                                     c4='encoder.layers.encoder_layer_1', k=0.5)),
        'swin_tiny': dict(build=swin_tiny, input=[1, 3, 224, 224], dynamic_batch=True, outputs=['logits'],
                          tokens=dict(layout='nhwc', prefix=0, c5='features.7', c4='features.5', k=0.5)),
    }


def files_of(name, spec):
    """The files one export writes; a model with any of them missing is exported again."""
    return [name + ext for ext in ('.onnx', '.json') + (('.pt',) if spec.get('save_state_dict') else ())]


def export(name, spec, out_dir, command):
    torch.manual_seed(SEED)
    model = spec['build']().eval()
    onnx_path = os.path.join(out_dir, name + '.onnx')
    tmp_path = onnx_path + '.tmp'
    x = probe_input(spec['input'])
    args = ([x],) if spec.get('detector') else (x,)
    dynamic = {'input': {0: 'batch'}, **{o: {0: 'batch'} for o in spec['outputs']}} if spec['dynamic_batch'] else None
    t0 = time.time()
    with torch.no_grad():
        ref = model(*args)
    with torch.enable_grad() if spec.get('export_with_grad') else torch.no_grad():
        torch.onnx.export(model, args, tmp_path, opset_version=OPSET, do_constant_folding=True,
                          input_names=['input'], output_names=spec['outputs'], dynamic_axes=dynamic)
    os.replace(tmp_path, onnx_path)
    if spec.get('save_state_dict'):
        pt_path = os.path.join(out_dir, name + '.pt')
        torch.save(model.state_dict(), pt_path + '.tmp')
        os.replace(pt_path + '.tmp', pt_path)
    if spec.get('detector'):
        outs = [ref[0][k] for k in spec['outputs']]
    elif isinstance(ref, dict):  # FCN returns OrderedDict(out=...); the export flattens it
        outs = [ref[k] for k in spec['outputs']]
    else:
        outs = [ref]
    sidecar = {
        'model': name,
        'file': name + '.onnx',
        'source': f'torchvision {torchvision.__version__}, torch {torch.__version__}, random weights (torch.manual_seed({SEED}))',
        'opset': OPSET,
        **({'state_dict': name + '.pt'} if spec.get('save_state_dict') else {}),
        'input': {'name': 'input', 'shape': ['batch' if (spec['dynamic_batch'] and i == 0) else d
                                             for i, d in enumerate(spec['input'])]},
        'outputs': [{'name': n, 'shape': list(o.shape), 'dtype': str(o.dtype).replace('torch.', '')}
                    for n, o in zip(spec['outputs'], outs)],
        'probe': {
            'input': 'x[i] = ((i * 7919) % 1000) / 1000 - 0.5 over the input shape (row-major, batch 1)',
            'input_shape': spec['input'],
            'outputs': {n: {'sum': float(o.double().sum()), 'first': [float(v) for v in o.flatten()[:8]]}
                        for n, o in zip(spec['outputs'], outs)},
        },
        **({'tokens': token_reference(model, x, spec['tokens'])} if spec.get('tokens') else {}),
        'command': command,
    }
    with open(os.path.join(out_dir, name + '.json'), 'w') as f:
        json.dump(sidecar, f, indent=2)
        f.write('\n')
    print(f'exported {name} in {time.time() - t0:.1f}s -> {onnx_path}', flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(here, '..', '.cache', 'models'))
    ap.add_argument('--force', action='store_true', help='re-export models whose files exist')
    ap.add_argument('--only', nargs='*', help='export only these models')
    a = ap.parse_args()
    specs = builders()
    names = a.only or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        sys.exit(f'unknown model(s) {unknown}; known: {list(specs)}')
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    command = 'python3 tools/export_torchvision.py' + (' --only ' + ' '.join(names) if a.only else '')
    for name in names:
        done = all(os.path.exists(os.path.join(a.out, f)) for f in files_of(name, specs[name]))
        if done and not a.force:
            print(f'{name}: exists, skipped (--force to redo)')
            continue
        export(name, specs[name], a.out, command)


if __name__ == '__main__':
    main()
