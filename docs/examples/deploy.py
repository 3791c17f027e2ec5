#!/usr/bin/env python3
"""Run a model written by `fsta patch --config fsta.config.json` in Python onnxruntime.

    python deploy.py patched.onnx photo.jpg [more images...]

Prints one JSON line per image: the fused score (fsta/score, or the feature score when the
model has no classifier head) and the model's own verdict (fsta/verdict: true = in-distribution).
Everything it needs is inside the model file: the preprocessing and the threshold are in its
metadata_props (fsta.*), the decision is an output. Needs onnxruntime, numpy and Pillow.

The preprocessing is fsta's, step for step (packages/core/src/preprocess.ts), which is
torchvision's on PIL images: EXIF orientation applied, transparency composited onto white,
Resize(shorter side) with PIL's bilinear filter, CenterCrop (zero padding where the image is
smaller), ToTensor, Normalize, all in float32.
"""
import json
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps


def fsta_metadata(session):
    props = session.get_modelmeta().custom_metadata_map
    if "fsta.config" not in props:
        sys.exit("this model was not written by `fsta patch` (it has no fsta.* metadata)")
    if props.get("fsta.preprocess", "unknown") == "unknown":
        sys.exit("the patch does not record the preprocessing (stages were detected automatically); preprocess the images yourself")
    return json.loads(props["fsta.config"]), json.loads(props["fsta.preprocess"]), props["fsta.input"]


def preprocess(path, spec):
    """One image file -> float32 [3, H, W], as fsta's preprocessPixels makes it."""
    img = ImageOps.exif_transpose(Image.open(path))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float64)
        a = rgba[..., 3:4]
        # Straight alpha onto white, rounded half away from zero like JavaScript's Math.round on these positive values.
        rgb = np.floor((rgba[..., :3] * a + 255.0 * (255.0 - a)) / 255.0 + 0.5).astype(np.uint8)
        rgb[(a[..., 0] == 255)] = rgba[..., :3][(a[..., 0] == 255)].astype(np.uint8)
        img = Image.fromarray(rgb, "RGB")
    else:
        img = img.convert("RGB")
    out_h, out_w = spec["size"]
    w, h = img.size
    if spec["crop"] == "none":
        if (w, h) != (out_w, out_h):
            img = img.resize((out_w, out_h), Image.BILINEAR)
        top = left = 0
    else:
        s = spec.get("resizeShorter")
        if s is not None:
            nw, nh = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
            if (nw, nh) != (w, h):
                img = img.resize((nw, nh), Image.BILINEAR)
        w, h = img.size
        # torchvision's CenterCrop: round() (half to even) offsets, zero padding by floor(missing / 2) when smaller.
        top = round((h - out_h) / 2) if h >= out_h else -((out_h - h) // 2)
        left = round((w - out_w) / 2) if w >= out_w else -((out_w - w) // 2)
    px = np.asarray(img, dtype=np.uint8)
    h, w = px.shape[:2]
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    out = np.empty((3, out_h, out_w), dtype=np.float32)
    out[:] = ((np.float32(0) - mean) / std)[:, None, None]
    ys, xs = max(top, 0), max(left, 0)
    y0, x0 = ys - top, xs - left
    crop = px[ys:min(top + out_h, h), xs:min(left + out_w, w)].astype(np.float32)
    chw = ((crop / np.float32(255)) - mean) / std
    out[:, y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = chw.transpose(2, 0, 1)
    return out


def main(model_path, images):
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    config, spec, input_name = fsta_metadata(session)
    outputs = [o.name for o in session.get_outputs()]
    score_name = "fsta/score" if "fsta/score" in outputs else ("fsta/fs_ta" if config["featureScore"] == "fs_ta" else "fsta/fs")
    has_verdict = "fsta/verdict" in outputs
    batch = np.stack([preprocess(p, spec) for p in images])
    fetch = [score_name] + (["fsta/verdict"] if has_verdict else [])
    # A model exported with a fixed batch takes its images one at a time.
    fixed = session.get_inputs()[0].shape[0]
    runs = [batch] if not isinstance(fixed, int) else [batch[i:i + 1] for i in range(len(batch))]
    results = [session.run(fetch, {input_name: x}) for x in runs]
    scores = np.concatenate([r[0] for r in results])
    verdicts = np.concatenate([r[1] for r in results]) if has_verdict else [None] * len(images)
    for path, score, verdict in zip(images, scores, verdicts):
        print(json.dumps({"image": path, "score": float(score), "verdict": None if verdict is None else ("ID" if verdict else "OOD"), "threshold": config["threshold"]}))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
