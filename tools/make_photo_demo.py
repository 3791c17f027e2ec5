"""Build `fsta demo`'s bundled photos, textures and drawings, with a NOTICE naming every file's source and licence.

Sources (nothing research-only; every file redistributable, its licence recorded):
- ID: photographs from Debian's `gcompris-qt-data` 3.1-2 (GCompris 3.1). GCompris
  ships, beside each activity's images, a README giving every image's author, original
  address (mostly Wikimedia Commons) and licence; only images whose licence there is
  public domain, CC0-1.0, CC-BY-* or CC-BY-SA-* are taken. The images are inside Qt
  resource files (`/usr/share/gcompris-qt/rcc/*.rcc`), read by `read_rcc` below.
- OOD `textures`: made here from seeded noise and geometry (stripes, checks, dots,
  grids, zigzags, marble, wood, cells, weave, spirals): no third-party pixels.
- OOD `drawings`: the Art4Apps drawings of GCompris's `lang` activity (CC-BY-SA-3.0,
  per Debian's copyright file for the package): cartoons of animals and fruit that
  ImageNet has photos of. The honest limit: FS misses them.
- model.onnx: ../shared/models/imagenet-mobilenetv2-int8w.onnx (torchvision's
  MobileNetV2, BSD-3-Clause), copied unchanged.
- classes.json: the 1,000 ImageNet class names in the model's output order, as
  torchvision lists them (`torchvision.models._meta._IMAGENET_CATEGORIES`, BSD-3-Clause).

Run from the repository root (about a minute; needs Debian's apt, python3-pil, numpy, python3-torchvision):
    /usr/bin/python3 tools/make_photo_demo.py
It downloads the .deb with `apt-get download` into a temporary folder (or takes
--deb PATH), and rewrites apps/cli/assets/photo-demo/ (model, images, NOTICE).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'apps', 'cli', 'assets', 'photo-demo')
MODEL = os.path.join(ROOT, '..', 'shared', 'models', 'imagenet-mobilenetv2-int8w.onnx')
PACKAGE, VERSION = 'gcompris-qt-data', '3.1-2'
ACT = 'gcompris/src/activities/'
# Folders of photographs (inside the rcc files) and which rcc holds each.
ID_DIRS = {
    'erase/resource': 'erase',
    'explore_world_animals/resource/animals': 'explore_world_animals',
    'explore_farm_animals/resource/animals': 'explore_farm_animals',
    'categorization/resource/images/fishes': 'categorization',
    'categorization/resource/images/others': 'categorization',
    'categorization/resource/images/monuments': 'categorization',
}
# Cartoon drawings: no per-file README; Debian's copyright file covers the folder.
DRAWINGS_DIR, DRAWINGS_RCC = 'lang/resource/words_sample', 'lang'
DRAWINGS_LICENCE = ('Arts4Apps project http://www.art4apps.org/', 'CC-BY-SA-3.0')
# Drawings that show a thing rather than digits, colour swatches or body parts with arrows.
DRAWINGS = ('apple apricot bear bee beetle bird bull butterfly camel cat chicken coconut cow dog dolphin duck '
            'fish fox frog giraffe gorilla hedgehog hippopotamus horse kangaroo kiwi lemon lizard melon mosquito '
            'mouse orange owl panda peach pear pig plum rabbit raspberry rhinoceros shark sheep snail snake '
            'spider strawberry turkey turtle whale wolf').split()
LICENCES = {  # README spelling -> SPDX id and the licence's address
    'public domain': ('public domain', ''),
    'cc0-1.0': ('CC0-1.0', 'https://creativecommons.org/publicdomain/zero/1.0/'),
    'cc-by-2.0': ('CC-BY-2.0', 'https://creativecommons.org/licenses/by/2.0/'),
    'cc-by-3.0': ('CC-BY-3.0', 'https://creativecommons.org/licenses/by/3.0/'),
    'cc-by-sa-3.0': ('CC-BY-SA-3.0', 'https://creativecommons.org/licenses/by-sa/3.0/'),
    'cc-by-sa-4.0': ('CC-BY-SA-4.0', 'https://creativecommons.org/licenses/by-sa/4.0/'),
}
SIZE, QUALITY = 256, 85
TEXTURES_PER_FAMILY, SEED = 5, 20261201


def read_rcc(path):
    """Yield (path, bytes) for every file in a Qt binary resource file (formats 1-3, zlib or stored)."""
    b = open(path, 'rb').read()
    if b[:4] != b'qres':
        raise ValueError(f'{path}: not a Qt resource file')
    ver, tree, data, names = struct.unpack('>IIII', b[4:20])
    esz = 14 if ver == 1 else 22

    def name(off):
        n, = struct.unpack('>H', b[names + off:names + off + 2])
        return b[names + off + 6:names + off + 6 + 2 * n].decode('utf-16-be')

    def walk(i, prefix):
        e = tree + i * esz
        noff, flags = struct.unpack('>IH', b[e:e + 6])
        p = f'{prefix}/{name(noff)}' if i else ''
        if flags & 2:
            cnt, first = struct.unpack('>II', b[e + 6:e + 14])
            for c in range(first, first + cnt):
                yield from walk(c, p)
            return
        doff, = struct.unpack('>I', b[e + 10:e + 14])
        sz, = struct.unpack('>I', b[data + doff:data + doff + 4])
        blob = b[data + doff + 4:data + doff + 4 + sz]
        if flags & 4:
            raise ValueError(f'{path}: {p} is zstd-compressed; not supported')
        yield p.lstrip('/'), zlib.decompress(blob[4:]) if flags & 1 else blob

    yield from walk(0, '')


def parse_readme(text):
    """GCompris's per-folder README: blocks of Copyright/Source/License/Files -> {file: fields}."""
    out = {}
    for block in re.split(r'\n\s*\n', text):
        fields, key = {}, None
        for line in block.splitlines():
            m = re.match(r'^(Copyright|Source|License|Comments?|Files):\s*(.*)$', line)
            if m:
                key = m.group(1).rstrip('s') if m.group(1) != 'Files' else 'Files'
                fields.setdefault(key, [])
                if m.group(2).strip():
                    fields[key].append(m.group(2).strip())
            elif key and line.strip():
                fields[key].append(line.strip())
        for f in ' '.join(fields.get('Files', [])).split():
            out[f] = {k: ' '.join(v) for k, v in fields.items() if k != 'Files'}
    return out


def square(data):
    """Image bytes -> RGB (alpha over white), shorter side SIZE (Lanczos), centre-cropped to SIZE x SIZE."""
    import io
    im = Image.open(io.BytesIO(data)).convert('RGBA')
    bg = Image.new('RGBA', im.size, (255, 255, 255, 255))
    bg.alpha_composite(im)
    im = bg.convert('RGB')
    w, h = im.size
    s = SIZE / min(w, h)
    im = im.resize((max(SIZE, round(w * s)), max(SIZE, round(h * s))), Image.LANCZOS)
    w, h = im.size
    left, top = (w - SIZE) // 2, (h - SIZE) // 2
    return im.crop((left, top, left + SIZE, top + SIZE))


# --- procedural textures -------------------------------------------------------------

def _plane(rng):
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    a = rng.uniform(0, np.pi)
    return x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)


def _fbm(rng, octaves=5):
    out, amp, tot = np.zeros((SIZE, SIZE), np.float32), 1.0, 0.0
    for o in range(octaves):
        n = 4 * 2 ** o
        g = rng.random((n + 1, n + 1)).astype(np.float32)
        out += amp * np.asarray(Image.fromarray(g).resize((SIZE, SIZE), Image.BICUBIC), np.float32)
        tot += amp
        amp *= 0.5
    out /= tot
    return (out - out.min()) / (out.max() - out.min() + 1e-6)


def _paint(t, rng):
    c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    t = np.clip(t, 0, 1)[..., None]
    return c0 * (1 - t) + c1 * t


def striped(rng):
    u, _ = _plane(rng)
    return _paint(np.sin(2 * np.pi * rng.uniform(6, 30) * u) > rng.uniform(-0.5, 0.5), rng)


def checkered(rng):
    u, v = _plane(rng)
    f = rng.uniform(4, 16)
    return _paint((np.floor(f * u) + np.floor(f * v)) % 2, rng)


def dotted(rng):
    u, v = _plane(rng)
    f = rng.uniform(6, 20)
    return _paint(np.hypot((f * u) % 1 - 0.5, (f * v) % 1 - 0.5) < rng.uniform(0.15, 0.4), rng)


def grid(rng):
    u, v = _plane(rng)
    f, w = rng.uniform(5, 14), rng.uniform(0.1, 0.25)
    return _paint(((f * u) % 1 < w) | ((f * v) % 1 < w), rng)


def zigzag(rng):
    u, v = _plane(rng)
    tri = np.abs((v * rng.uniform(4, 12)) % 1 - 0.5) * 2
    return _paint(np.sin(2 * np.pi * rng.uniform(6, 20) * (u + rng.uniform(0.05, 0.2) * tri)) > 0, rng)


def marbled(rng):
    u, _ = _plane(rng)
    t = 0.5 + 0.5 * np.sin(2 * np.pi * (rng.uniform(2, 6) * u + rng.uniform(2, 6) * _fbm(rng)))
    return _paint(t ** rng.uniform(0.5, 3), rng)


def wood(rng):
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    cx, cy = rng.uniform(-0.5, 1.5, 2)
    r = np.hypot(x - cx, (y - cy) * rng.uniform(0.1, 1)) * rng.uniform(10, 30) + 3 * _fbm(rng)
    dark, light = np.array([0.45, 0.28, 0.12]) * rng.uniform(0.6, 1.2), np.array([0.75, 0.55, 0.3]) * rng.uniform(0.8, 1.2)
    t = (r % 1)[..., None]
    return dark * (1 - t) + light * t


def cellular(rng):
    pts = rng.random((int(rng.integers(20, 80)), 2)).astype(np.float32)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    d = np.sort(np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]), axis=-1)
    return _paint((d[..., 1] - d[..., 0]) < rng.uniform(0.005, 0.02), rng)


def woven(rng):
    u, v = _plane(rng)
    f = rng.uniform(6, 16)
    a, b = np.sin(2 * np.pi * f * v) * 0.5 + 0.5, np.sin(2 * np.pi * f * u) * 0.5 + 0.5
    over = (np.floor(f * u) + np.floor(f * v)) % 2
    return _paint(over * a + (1 - over) * b, rng)


def spiral(rng):
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE - 0.5
    t = np.sin(rng.uniform(20, 60) * np.hypot(x, y) + int(rng.integers(1, 6)) * np.arctan2(y, x))
    return _paint(t > 0, rng)


TEXTURES = [striped, checkered, dotted, grid, zigzag, marbled, wood, cellular, woven, spiral]


def textures():
    rng = np.random.default_rng(SEED)
    for fam in TEXTURES:
        for i in range(TEXTURES_PER_FAMILY):
            img = fam(rng).astype(np.float32)
            img = img * rng.uniform(0.85, 1.0) + rng.normal(0, 0.02, img.shape)  # slight sensor-like noise
            yield f'{fam.__name__}-{i}', Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8))


# --- main ----------------------------------------------------------------------------

def fetch_deb(tmp):
    subprocess.run(['apt-get', 'download', f'{PACKAGE}={VERSION}'], cwd=tmp, check=True)
    return os.path.join(tmp, next(f for f in os.listdir(tmp) if f.endswith('.deb')))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--deb', help=f'{PACKAGE}_{VERSION}_all.deb (default: apt-get download it)')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    deb = args.deb or fetch_deb(tmp)
    subprocess.run(['dpkg-deb', '-x', deb, os.path.join(tmp, 'x')], check=True)
    share = os.path.join(tmp, 'x', 'usr', 'share')
    rcc = {}
    for stem in sorted(set(ID_DIRS.values()) | {DRAWINGS_RCC}):
        for p, data in read_rcc(os.path.join(share, 'gcompris-qt', 'rcc', f'{stem}.rcc')):
            rcc[p] = (stem, data)
    copyright_text = open(os.path.join(share, 'doc', PACKAGE, 'copyright'), encoding='utf-8').read()
    if f'Files: src/activities/{DRAWINGS_DIR}/*' not in copyright_text or DRAWINGS_LICENCE[1] not in copyright_text:
        sys.exit(f'{PACKAGE}: copyright file no longer names {DRAWINGS_DIR} as {DRAWINGS_LICENCE[1]}; check it by hand')

    if os.path.isdir(os.path.join(OUT, 'images')):
        shutil.rmtree(os.path.join(OUT, 'images'))
    rows = []  # (bundled path, original path, author, source, licence)
    skipped = []
    for d, stem in ID_DIRS.items():
        readme = parse_readme(rcc[f'{ACT}{d}/README'][1].decode('utf-8'))
        for p in sorted(k for k in rcc if k.startswith(f'{ACT}{d}/') and k.endswith('.webp')):
            base = p.rsplit('/', 1)[1]
            meta = readme.get(base, {})
            lic = LICENCES.get(meta.get('License', '').lower().replace(' ', '-').replace('public-domain', 'public domain'))
            if not lic:
                skipped.append(f'{p}: licence {meta.get("License")!r} not in the accepted list')
                continue
            group = d.split('/')[0] if not d.startswith('categorization') else d.rsplit('/', 1)[1]
            name = f'images/id/{group}-{base[:-5]}.jpg'
            rows.append((name, f'/usr/share/gcompris-qt/rcc/{stem}.rcc:/{p}', meta.get('Copyright', ''), meta.get('Source', ''), lic))
    want = set(DRAWINGS)
    for p in sorted(k for k in rcc if k.startswith(f'{ACT}{DRAWINGS_DIR}/') and k.endswith('.webp')):
        word = p.rsplit('/', 1)[1][:-5]
        if word in want:
            rows.append((f'images/ood/drawings/{word}.jpg', f'/usr/share/gcompris-qt/rcc/{DRAWINGS_RCC}.rcc:/{p}',
                         DRAWINGS_LICENCE[0], '', LICENCES['cc-by-sa-3.0']))
    orig = {r[0]: r[1] for r in rows}
    for name, src, *_ in rows:
        os.makedirs(os.path.dirname(os.path.join(OUT, name)), exist_ok=True)
        square(rcc[src.split(':/', 1)[1]][1]).save(os.path.join(OUT, name), quality=QUALITY)
    tex = os.path.join(OUT, 'images', 'ood', 'textures')
    os.makedirs(tex, exist_ok=True)
    for name, im in textures():
        im.save(os.path.join(tex, f'{name}.jpg'), quality=QUALITY)
    shutil.copyfile(MODEL, os.path.join(OUT, 'model.onnx'))
    write_classes()
    sha = hashlib.sha256(open(os.path.join(OUT, 'model.onnx'), 'rb').read()).hexdigest()
    write_notice(rows, sha, skipped)
    n_id = sum(r[0].startswith('images/id/') for r in rows)
    print(f'{n_id} ID photos, {len(rows) - n_id} drawings, {len(TEXTURES) * TEXTURES_PER_FAMILY} textures; '
          f'skipped {len(skipped)}: {skipped}; wrote {OUT} ({len(orig)} third-party images)')


def write_classes():
    from torchvision.models._meta import _IMAGENET_CATEGORIES
    if len(_IMAGENET_CATEGORIES) != 1000:
        sys.exit(f'torchvision lists {len(_IMAGENET_CATEGORIES)} ImageNet classes, expected 1000')
    with open(os.path.join(OUT, 'classes.json'), 'w', encoding='utf-8') as f:
        json.dump(list(_IMAGENET_CATEGORIES), f, separators=(',', ':'))


def write_notice(rows, sha, skipped):
    used = sorted({r[4] for r in rows})
    lines = [
        'Third-party files bundled in this folder, and their licences',
        '=============================================================',
        '',
        'Made by tools/make_photo_demo.py. Every image was resized (shorter side 256 px, Lanczos),',
        'centre-cropped to 256x256 and re-encoded as JPEG (quality 85); nothing else was changed.',
        'The fsta project\'s own code is MIT (../../../../LICENSE); the files below keep their own licences.',
        '',
        'model.onnx',
        '----------',
        'torchvision\'s quantized ImageNet MobileNetV2 (`mobilenet_v2(weights=..., quantize=True)`),',
        'de-quantized to float, batch-norm folded, weights stored as int8 with DequantizeLinear nodes',
        f'(sha256 {sha}). torchvision: https://github.com/pytorch/vision',
        'Copyright (c) Soumith Chintala 2016, Facebook, Inc. and its affiliates. All rights reserved.',
        'License: BSD-3-Clause',
        '',
        ' Redistribution and use in source and binary forms, with or without modification, are permitted',
        ' provided that the following conditions are met:',
        ' 1. Redistributions of source code must retain the above copyright notice, this list of conditions',
        '    and the following disclaimer.',
        ' 2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions',
        '    and the following disclaimer in the documentation and/or other materials provided with the',
        '    distribution.',
        ' 3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse',
        '    or promote products derived from this software without specific prior written permission.',
        ' THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR',
        ' IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND',
        ' FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR',
        ' CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL',
        ' DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,',
        ' DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER',
        ' IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF',
        ' THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.',
        '',
        'classes.json',
        '------------',
        'The ImageNet class names in the model\'s output order, from torchvision',
        '(torchvision/models/_meta.py, _IMAGENET_CATEGORIES); same copyright and licence as model.onnx above.',
        '',
        'images/ood/textures/*.jpg',
        '-------------------------',
        'Generated by tools/make_photo_demo.py from seeded noise and geometry; part of fsta (MIT).',
        '',
        'images/id/*.jpg and images/ood/drawings/*.jpg',
        '---------------------------------------------',
        f'From the Debian package {PACKAGE} {VERSION} (GCompris 3.1, https://gcompris.net), inside its Qt',
        'resource files. Author, original address and licence of each photo are those in the README that',
        'GCompris ships beside it; the drawings\' author and licence are those in the package\'s',
        f'/usr/share/doc/{PACKAGE}/copyright ("Files: src/activities/{DRAWINGS_DIR}/*").',
        'Licences used (the full texts are at these addresses):',
    ]
    lines += [f'  {spdx}{": " + url if url else " (no rights reserved)"}' for spdx, url in used]
    lines += ['Files under CC-BY-SA are shared under the same licence (as modified copies, see above).', '']
    lines += ['file | licence | author | original address | original path in the package']
    for name, src, author, source, (spdx, _) in rows:
        lines.append(f'{name} | {spdx} | {author or "-"} | {source or "-"} | {src}')
    if skipped:
        lines += ['', 'Not bundled (licence not verified as redistributable here):'] + [f'  {s}' for s in skipped]
    with open(os.path.join(OUT, 'NOTICE'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
