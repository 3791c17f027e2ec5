"""Independent check of `fsta demo`'s headline numbers: FS, Energy and MSP AUROC (%) of the bundled
ID photos against each bundled OOD set, with Python onnxruntime + PIL + numpy instead of the CLI's
onnxruntime-node + sharp + @fsta/core. Run: .cache/venv/bin/python tools/check_photo_demo.py
(FS = mean |f - spatial mean of f| over C5 = features.18's ReLU output, as tools/bench-torch.py.)

With `--reference OUT.json FILE...` (FILEs relative to the demo folder) it writes those images'
FS, MSP and top class instead: apps/web/test/fixtures/photo-demo-reference-scores.json, which the web
page's end-to-end test holds the page's numbers to.
"""
import glob
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image
D = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'apps', 'cli', 'assets', 'photo-demo') + '/'
m = onnx.load(D + 'model.onnx')
c5 = [n.output[0] for n in m.graph.node if n.name.startswith('/features/features.18/') and n.op_type in ('Relu', 'Clip')][-1]
m.graph.output.append(onnx.helper.make_tensor_value_info(c5, onnx.TensorProto.FLOAT, None))
sess = ort.InferenceSession(m.SerializeToString(), providers=['CPUExecutionProvider'])
mean = np.array([0.485, 0.456, 0.406], np.float32); std = np.array([0.229, 0.224, 0.225], np.float32)
def prep(f):
    im = Image.open(f).convert('RGB'); w, h = im.size; s = 256 / min(w, h)
    if (w, h) != (256, 256): im = im.resize((round(w * s), round(h * s)), Image.BILINEAR)
    w, h = im.size; l, t = (w - 224) // 2, (h - 224) // 2
    return ((np.asarray(im.crop((l, t, l + 224, t + 224)), np.float32) / 255 - mean) / std).transpose(2, 0, 1)
def scores(d):
    x = np.stack([prep(f) for f in sorted(glob.glob(D + 'images/' + d + '/*.jpg'))])
    logits, f = sess.run(['logits', c5], {'input': x})
    fs = np.abs(f - f.mean((2, 3), keepdims=True)).mean((1, 2, 3))
    mx = logits.max(1, keepdims=True); energy = (mx + np.log(np.exp(logits - mx).sum(1, keepdims=True)))[:, 0]
    p = np.exp(logits - mx); msp = (p / p.sum(1, keepdims=True)).max(1)
    return {'FS': fs, 'Energy': energy, 'MSP': msp}
def auroc(i, o):
    s = np.concatenate([i, o])
    assert len(np.unique(s)) == len(s), 'tied scores: use average ranks'
    r = s.argsort().argsort() + 1.0
    return (r[:len(i)].sum() - len(i) * (len(i) + 1) / 2) / (len(i) * len(o))
if sys.argv[1:2] == ['--reference']:
    out, files = sys.argv[2], sys.argv[3:]
    logits, f = sess.run(['logits', c5], {'input': np.stack([prep(D + r) for r in files])})
    fs = np.abs(f - f.mean((2, 3), keepdims=True)).mean((1, 2, 3))
    p = np.exp(logits - logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    images = [{'file': r, 'pred': int(p[i].argmax()), 'fs': float(fs[i]), 'msp': float(p[i].max())} for i, r in enumerate(files)]
    with open(out, 'w') as fh:
        json.dump({'madeBy': '.cache/venv/bin/python tools/check_photo_demo.py --reference ' + ' '.join(sys.argv[2:3] + ['FILE...']) + ' (Python onnxruntime, PIL, numpy)', 'images': images}, fh, indent=1)
        fh.write('\n')
    sys.exit(0)
print('C5 tensor', c5)
idd = scores('id')
for o in ['ood/textures', 'ood/drawings']:
    od = scores(o)
    print(o, {k: round(100 * float(auroc(idd[k], od[k])), 2) for k in idd})
