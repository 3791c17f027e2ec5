#!/usr/bin/env python3
"""Checks patched models outside JavaScript (issue 13), for apps/cli/test/deploy-python.test.ts.

    check_patched.py CASES.json

CASES.json: [{"model": path, "inputs": {name: {"file", "dims"}}, "outputs": {name: {"file", "dims", "dtype"}}}],
the raw little-endian arrays onnxruntime-node produced. For each model: onnx.checker.check_model(full_check=True),
then a Python onnxruntime run on the same inputs; float outputs must agree within 1e-6 of the output's largest
magnitude, other dtypes (bool verdicts, int64 labels) exactly. Prints one JSON object per model; exit 1 on any failure.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

REL = 1e-6


def main(path):
    cases = json.load(open(path))
    failed = False
    for case in cases:
        result = {"model": case["model"], "onnx": onnx.__version__, "onnxruntime": ort.__version__}
        try:
            onnx.checker.check_model(onnx.load(case["model"]), full_check=True)
            result["checker"] = "ok"
        except Exception as e:  # the checker's own message is the diagnosis
            result["checker"] = f"{type(e).__name__}: {e}"
            failed = True
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(case["model"], opts, providers=["CPUExecutionProvider"])
        feeds = {n: np.fromfile(i["file"], dtype=np.float32).reshape(i["dims"]) for n, i in case["inputs"].items()}
        names = list(case["outputs"])
        got = dict(zip(names, session.run(names, feeds)))
        result["outputs"] = {}
        for name, want in case["outputs"].items():
            ref = np.fromfile(want["file"], dtype=want["dtype"]).reshape(want["dims"])
            mine = got[name]
            entry = {"dtype": str(mine.dtype), "dims": list(mine.shape)}
            if mine.dtype != ref.dtype or list(mine.shape) != list(ref.shape):
                entry["error"] = f"dtype/shape {mine.dtype}{list(mine.shape)} vs node {ref.dtype}{list(ref.shape)}"
            elif mine.dtype.kind == "f":
                scale = float(np.max(np.abs(ref))) if ref.size else 0.0
                diff = float(np.max(np.abs(mine.astype(np.float64) - ref))) if ref.size else 0.0
                entry["relative"] = diff / scale if scale > 0 else diff
                if not np.all(np.isfinite(mine) == np.isfinite(ref)) or entry["relative"] > REL:
                    entry["error"] = f"differs by {entry['relative']:.3g} of its largest value (limit {REL})"
            elif not np.array_equal(mine, ref):
                entry["error"] = f"{int(np.sum(mine != ref))} of {ref.size} values differ"
            failed = failed or "error" in entry
            result["outputs"][name] = entry
        print(json.dumps(result), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1])
