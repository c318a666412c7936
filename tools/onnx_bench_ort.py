"""onnxruntime's side of tools/bench-onnx: same fixture inputs, same timing loop.

    onnx_bench_ort.py MODEL.onnx FIXTURE.json BATCH [BATCH...]
    onnx_bench_ort.py --binding-floor      p50 of a one-element Identity model: the cost of
                                           a session.run call through Python alone
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort

ort.set_default_logger_severity(3)  # exporters' declared label shapes trigger noisy warnings
dtypes = {"float": np.float32, "double": np.float64, "int64": np.int64, "string": object}


def p50_p90(session, names, feed):
    for _ in range(200):
        session.run(names, feed)
    samples = []
    deadline = time.perf_counter() + 1.0
    while len(samples) < 200_000 and (len(samples) < 200 or time.perf_counter() < deadline):
        start = time.perf_counter()
        session.run(names, feed)
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return samples[len(samples) // 2], samples[len(samples) * 9 // 10], len(samples)


def tiled(entry, batch):
    rows = entry["shape"][0]
    a = np.array(entry["data"], dtype=dtypes[entry["type"]]).reshape(entry["shape"])
    return a[[b % rows for b in range(batch)]]


if sys.argv[1] == "--binding-floor":
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "floor",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    p50, _, _ = p50_p90(session, ["y"], {"x": np.ones(1, np.float32)})
    print(f"{p50:.2f}")
    sys.exit(0)

model_path, fixture_path, batches = sys.argv[1], sys.argv[2], [int(b) for b in sys.argv[3:]]
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
with open(fixture_path) as f:
    fixture = json.load(f)
names = [o.name for o in session.get_outputs()]
for batch in batches:
    feed = {k: tiled(v, batch) for k, v in fixture["inputs"].items()}
    p50, p90, runs = p50_p90(session, names, feed)
    print(f"batch={batch} p50_us={p50:.2f} p90_us={p90:.2f} runs={runs}")
