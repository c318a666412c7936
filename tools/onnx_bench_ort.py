"""onnxruntime's side of tools/bench-onnx: same fixture inputs, same timing loop."""

import json
import sys
import time

import numpy as np
import onnxruntime as ort

model_path, fixture_path, batches = sys.argv[1], sys.argv[2], [int(b) for b in sys.argv[3:]]
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
with open(fixture_path) as f:
    fixture = json.load(f)
dtypes = {"float": np.float32, "double": np.float64, "int64": np.int64, "string": object}


def tiled(entry, batch):
    rows = entry["shape"][0]
    a = np.array(entry["data"], dtype=dtypes[entry["type"]]).reshape(entry["shape"])
    return a[[b % rows for b in range(batch)]]


names = [o.name for o in session.get_outputs()]
for batch in batches:
    feed = {k: tiled(v, batch) for k, v in fixture["inputs"].items()}
    for _ in range(200):
        session.run(names, feed)
    samples = []
    deadline = time.perf_counter() + 1.0
    while len(samples) < 200_000 and (len(samples) < 200 or time.perf_counter() < deadline):
        start = time.perf_counter()
        session.run(names, feed)
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    print(f"batch={batch} p50_us={samples[len(samples) // 2]:.2f} p90_us={samples[len(samples) * 9 // 10]:.2f} runs={len(samples)}")
