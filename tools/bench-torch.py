#!/usr/bin/python3
"""PyTorch reference pipeline for fsta's end-to-end benchmark (issue 7).

Run with Debian's python3 (python3-torch 1.13, python3-torchvision 0.14), CPU only:

    /usr/bin/python3 tools/bench-torch.py --model cifar10-resnet56 --images FILE_LIST \
        [--batch 16] [--threads 2] [--workers 0] [--k 0.5] [--warmup 32] [--scores OUT.json] [--latency]

Models: cifar10-resnet20/32/44/56, imagenet-mobilenetv2, resnet50 (torchvision
ResNet-50 with the random weights tools/export_torchvision.py saved beside its ONNX
export, .cache/models/resnet50.pt).

FILE_LIST is a text file with one image path per line (the bench writes it, so both
pipelines score exactly the same files in the same order). The pipeline is the one a
PyTorch user would write from the paper: PIL decoding, torchvision transforms, a
DataLoader, forward hooks on the stages, and the paper's Appendix F code for the scores:

    FS  = mean over C, H, W of |f - f.mean((2, 3), keepdim=True)|   (f = the FS stage)
    TA  = a forward hook on the TA stage that returns relu(out - k), then a second
          forward of the layers after it; FS of that pass is FS+TA.

With `--ta tail` (the default) the second forward restarts from the TA stage's cached
output and runs only the layers after it, the cheapest faithful form, so fsta is
compared with a reference that does no more work than it must. `--ta full` is
Appendix F to the letter: the hook returns relu(out - k) during a second forward of
the whole network from the image.

Weights are the checkpoints the ONNX models were exported from (../shared/models/torch,
.cache/models/resnet50.pt), so both pipelines run identical networks. Prints one JSON
object on stdout: images/s (timed after `--warmup` images), the settings, and per-image
scores (fs, fs_ta, msp, energy, top1) in file-list order.

`--latency` is the serving case: batch 1, one image at a time in the main process, each
image timed on its own from opening the file to its scores (decode included); the
result adds `latencies_ms`, one per image in file-list order.
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
from PIL import Image
from torchvision import transforms

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
TORCH_DIR = os.path.join(ROOT, '..', 'shared', 'models', 'torch')
CACHE_DIR = os.path.join(ROOT, '.cache', 'models')
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


# --- CIFAR ResNet (Idelbayev's pytorch_resnet_cifar10, option-A shortcuts) ---------
class LambdaLayer(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            pad = planes // 4
            self.shortcut = LambdaLayer(lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), 'constant', 0))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, n, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        planes = [16]

        def layer(out, stride):
            blocks = []
            for s in [stride] + [1] * (n - 1):
                blocks.append(BasicBlock(planes[0], out, s))
                planes[0] = out
            return nn.Sequential(*blocks)

        self.layer1 = layer(16, 1)
        self.layer2 = layer(32, 2)
        self.layer3 = layer(64, 2)
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3]).flatten(1)
        return self.linear(out)


def cifar_resnet(depth, checkpoint):
    model = CifarResNet((depth - 2) // 6)
    state = torch.load(os.path.join(TORCH_DIR, checkpoint), map_location='cpu')['state_dict']
    model.load_state_dict({k.removeprefix('module.'): v for k, v in state.items()})
    return model.eval()


def mobilenet_v2():
    model = torchvision.models.quantization.mobilenet_v2(weights=None, quantize=False).eval()
    model.fuse_model()
    state = torch.load(os.path.join(TORCH_DIR, 'imagenet-mobilenetv2-fused-state.pt'), map_location='cpu')
    model.load_state_dict(state)
    return model.eval()


def resnet50():
    path = os.path.join(CACHE_DIR, 'resnet50.pt')
    if not os.path.exists(path):
        raise SystemExit(f'{path} is missing: run `node tools/ensure-models.mjs` (it exports resnet50.onnx and its state_dict)')
    model = torchvision.models.resnet50(weights=None)
    model.load_state_dict(torch.load(path, map_location='cpu'))
    return model.eval()


IMAGENET_TRANSFORM = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


# Per model: how to build it, its transforms, and the stages (same as @fsta/backbones'
# manifests: FS on C5, TA on C4). `tail` runs from the TA stage's output to the FS stage.
def spec(name):
    if name.startswith('cifar10-resnet'):
        depth = int(name.removeprefix('cifar10-resnet'))
        ckpt = {20: 'resnet20-12fca82f.th', 32: 'resnet32-d509ac18.th', 44: 'resnet44-014dd654.th', 56: 'resnet56-4bfd9763.th'}[depth]
        m = cifar_resnet(depth, ckpt)
        return dict(model=m, fs=m.layer3, ta=m.layer2, tail=m.layer3,
                    transform=transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor(), transforms.Normalize(MEAN, STD)]))
    if name == 'imagenet-mobilenetv2':
        m = mobilenet_v2()
        feats = m.features
        # features.14 has stride 2, so it has no residual add: its output is conv(x).
        return dict(model=m, fs=feats[18], ta=feats[14].conv[0], tail=lambda t: feats[15:](feats[14].conv[1:](t)),
                    transform=IMAGENET_TRANSFORM)
    if name == 'resnet50':
        m = resnet50()
        # C5 = layer4, C4 = layer3 (@fsta/backbones' ResNet manifest).
        return dict(model=m, fs=m.layer4, ta=m.layer3, tail=m.layer4, transform=IMAGENET_TRANSFORM)
    raise SystemExit(f'unknown model {name}')


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, transform):
        self.paths, self.transform = paths, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return self.transform(im.convert('RGB'))


# --- Appendix F ---------------------------------------------------------------------
def feature_sim(f):
    return (f - f.mean((2, 3), keepdim=True)).abs().mean((1, 2, 3))


def scorer(s, k, ta_mode):
    seen = {}
    s['fs'].register_forward_hook(lambda mod, inp, out: seen.__setitem__('fs', out))
    ta_on = [False]

    def at_ta_stage(mod, inp, out):
        seen['ta'] = out
        return F.relu(out - k) if ta_on[0] else None
    s['ta'].register_forward_hook(at_ta_stage)

    @torch.no_grad()
    def score(x):
        logits = s['model'](x)
        fs = feature_sim(seen['fs'])
        if ta_mode == 'tail':
            s['tail'](F.relu(seen['ta'] - k))
        else:
            ta_on[0] = True
            try:
                s['model'](x)
            finally:
                ta_on[0] = False
        fs_ta = feature_sim(seen['fs'])
        msp = logits.softmax(1).max(1).values
        energy = torch.logsumexp(logits, 1)
        return dict(fs=fs, fs_ta=fs_ta, msp=msp, energy=energy, top1=logits.argmax(1))
    return score


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', required=True)
    p.add_argument('--images', required=True, help='text file, one image path per line')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--workers', type=int, default=0, help='DataLoader workers (0 = decode in the main process)')
    p.add_argument('--k', type=float, default=0.5)
    p.add_argument('--ta', choices=['tail', 'full'], default='tail', help='second forward from the TA stage (tail) or from the image (full)')
    p.add_argument('--warmup', type=int, default=32, help='images scored before the clock starts')
    p.add_argument('--scores', help='write per-image scores here instead of stdout')
    p.add_argument('--latency', action='store_true', help='batch 1, each image timed alone, decode included (the serving case)')
    a = p.parse_args()
    if a.latency:
        a.batch, a.workers = 1, 0
    torch.set_num_threads(a.threads)
    with open(a.images) as fh:
        paths = [line.strip() for line in fh if line.strip()]
    s = spec(a.model)
    score = scorer(s, a.k, a.ta)

    out = {k: [] for k in ('fs', 'fs_ta', 'msp', 'energy', 'top1')}
    extra = {}
    if a.latency:
        files = Files(paths, s['transform'])
        for i in range(min(a.warmup, len(paths))):
            score(files[i].unsqueeze(0))
        latencies = []
        for i in range(len(paths)):
            t = time.perf_counter()
            r = score(files[i].unsqueeze(0))
            latencies.append((time.perf_counter() - t) * 1000)
            for k, v in r.items():
                out[k].extend(v.tolist())
        seconds = sum(latencies) / 1000
        extra = dict(latencies_ms=latencies)
    else:
        warm = Files(paths[:a.warmup], s['transform'])
        for x in torch.utils.data.DataLoader(warm, batch_size=a.batch):
            score(x)

        loader = torch.utils.data.DataLoader(Files(paths, s['transform']), batch_size=a.batch, num_workers=a.workers)
        t0 = time.perf_counter()
        for x in loader:
            for k, v in score(x).items():
                out[k].extend(v.tolist())
        seconds = time.perf_counter() - t0
    result = dict(model=a.model, images=len(paths), batch=a.batch, threads=a.threads, workers=a.workers, k=a.k, ta=a.ta,
                  latency=a.latency, seconds=seconds, images_per_s=len(paths) / seconds, torch=torch.__version__,
                  torchvision=torchvision.__version__, command=' '.join(['/usr/bin/python3'] + sys.argv), **extra, scores=out)
    if a.scores:
        with open(a.scores, 'w') as fh:
            json.dump(result, fh)
        result = {k: v for k, v in result.items() if k not in ('scores', 'latencies_ms')}
    print(json.dumps(result))


if __name__ == '__main__':
    main()
