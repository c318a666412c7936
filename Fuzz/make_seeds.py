#!/usr/bin/env python3
"""Writes Fuzz/Seeds/: starting inputs for each fuzz target, made from the repository's
fixtures and example requests and from ONNX's node test data (Debian libonnx-testdata).
Run from the repository root: python3 Fuzz/make_seeds.py (needs tritonclient for the gRPC
messages, as tools/test installs)."""
import base64, glob, json, os, re, shutil, struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "Fuzz", "Seeds")
NODE_DATA = "/usr/share/libonnx-testdata/data/node"


def write(target, name, data):
    os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(SEEDS, target, name), "wb") as f:
        f.write(data)


def rest():
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "requests", "*.json"))):
        write("rest", os.path.basename(path), open(path, "rb").read())
    write("rest", "typed.json", json.dumps({
        "id": "t", "parameters": {"priority": 1, "trace": True, "ratio": 0.5, "tag": "x"},
        "inputs": [
            {"name": "a", "datatype": "INT64", "shape": [2, 2], "data": [[1, 2], [3, 4]]},
            {"name": "b", "datatype": "BYTES", "shape": [2], "data": ["x", "yz"]},
            {"name": "c", "datatype": "BOOL", "shape": [1], "data": [True]},
            {"name": "d", "datatype": "FP64", "shape": [], "data": 1.5},
        ],
        "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
    }))
    write("rest", "response.json", json.dumps({
        "model_name": "m", "model_version": "1", "id": "r",
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [2], "data": [0.25, 0.75]}],
    }))
    # The binary extension: 0x80, the JSON part's length (big-endian), the JSON, the raw tensors.
    binary_inputs = [
        ("x", "FP32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
        ("h", "FP16", [2], struct.pack("<2e", 1.0, -2.0)),
        ("s", "BYTES", [2], struct.pack("<I", 2) + b"ab" + struct.pack("<I", 0)),
        ("u", "UINT8", [3], bytes([1, 2, 3])),
    ]
    header = json.dumps({"inputs": [
        {"name": n, "datatype": t, "shape": s, "parameters": {"binary_data_size": len(raw)}}
        for n, t, s, raw in binary_inputs
    ]}).encode()
    body = header + b"".join(raw for *_, raw in binary_inputs)
    write("rest", "binary.bin", bytes([0x80]) + struct.pack(">H", len(header)) + body)


def grpc():
    from tritonclient.grpc import service_pb2 as pb
    raw = pb.ModelInferRequest(model_name="iris", id="g1")
    t = raw.inputs.add(name="float_input", datatype="FP32", shape=[1, 4])
    raw.raw_input_contents.append(struct.pack("<4f", 5.1, 3.5, 1.4, 0.2))
    raw.outputs.add(name="label")
    raw.parameters["priority"].int64_param = 2
    write("grpc", "raw.pb", raw.SerializeToString())
    typed = pb.ModelInferRequest(model_name="m", model_version="2")
    for name, datatype, shape, field, values in [
        ("f", "FP32", [2], "fp32_contents", [1.0, 2.0]),
        ("d", "FP64", [1], "fp64_contents", [3.0]),
        ("i", "INT32", [2], "int_contents", [1, -1]),
        ("l", "INT64", [1, 1], "int64_contents", [7]),
        ("u", "UINT64", [1], "uint64_contents", [9]),
        ("w", "UINT16", [1], "uint_contents", [9]),
        ("b", "BOOL", [2], "bool_contents", [True, False]),
        ("s", "BYTES", [2], "bytes_contents", [b"a", b""]),
    ]:
        tensor = typed.inputs.add(name=name, datatype=datatype, shape=shape)
        getattr(tensor.contents, field).extend(values)
        tensor.parameters["p"].string_param = "v"
    write("grpc", "typed.pb", typed.SerializeToString())
    empty = pb.ModelInferRequest(model_name="m")
    empty.inputs.add(name="e", datatype="FP32", shape=[0, 3])
    write("grpc", "empty-tensor.pb", empty.SerializeToString())
    response = pb.ModelInferResponse(model_name="m", id="r")
    response.outputs.add(name="y", datatype="FP32", shape=[2])
    response.raw_output_contents.append(struct.pack("<2f", 0.5, 0.5))
    write("grpc", "response.pb", response.SerializeToString())


def gossip():
    def report(peer, used, lru=True, rates=2, thrash=False):
        r = {"peer": peer, "time": "2025-10-09T08:53:20.000Z", "inFlight": 3, "loading": 1,
             "usedBytes": used, "capacityBytes": 1 << 30, "modelCount": 4,
             "rates": [{"model": f"model-{i}", "perSecond": 12.5 / (i + 1), "inFlight": i} for i in range(rates)]}
        if lru:
            r["lruTime"] = 1_759_999_990_000
        if thrash:
            r.update({"thrashEvictionsPerMinute": 7, "thrashMissingBytes": 1 << 28, "evictionValue": 0.75})
        return r
    write("gossip", "one.json", json.dumps({"entries": [{"report": report("peer-a", 1 << 20), "ageMillis": 120}]}))
    write("gossip", "relayed.json", json.dumps({"entries": [
        {"report": report("peer-a", 0, lru=False, rates=0), "ageMillis": 0},
        {"report": report("peer-b", 1 << 29, thrash=True), "ageMillis": 2500},
        {"report": report("fuzz-me", 5), "ageMillis": 10},
    ]}))


def etcd():
    def b64(text):
        return base64.b64encode(text.encode()).decode()

    def kv(key, value, rev=5):
        return {"key": b64(key), "value": b64(value), "create_revision": "3", "mod_revision": str(rev), "version": "2", "lease": "7587886434476457226"}

    header = {"cluster_id": "14841639068965178418", "member_id": "10276657743932975437", "revision": "12", "raft_term": "2"}
    peer = json.dumps({"httpAddress": "127.0.0.1:8008", "grpcAddress": "127.0.0.1:8033", "labels": ["cpu"], "capacityBytes": 1 << 30,
                       "version": "dev", "startTime": "2025-10-09T08:00:00.000Z", "shuttingDown": False, "instance": "i1"})
    copy = json.dumps({"state": "loaded", "since": "2025-10-09T08:01:00.000Z", "sizeBytes": 1 << 20,
                       "download": {"bytes": 1 << 20, "millis": 40, "fromCache": False}})
    failure = json.dumps({"time": "2025-10-09T08:02:00.000Z", "message": "no such file"})
    kvs = [kv("/mm/fuzz/peers/peer-a", peer), kv("/mm/fuzz/copies/iris/peer-a", copy, 6),
           kv("/mm/fuzz/failures/iris/peer-b", failure, 7), kv("/mm/fuzz/pinned/iris", "2", 8)]
    model = os.path.join(ROOT, "examples", "models", "doubler.json")
    if os.path.exists(model):
        kvs.append(kv("/mm/fuzz/models/doubler", open(model).read(), 9))
    write("etcd", "range.json", json.dumps({"header": header, "kvs": kvs, "more": True, "count": "5"}))
    write("etcd", "range-empty.json", json.dumps({"header": header}))
    write("etcd", "put.json", json.dumps({"header": header, "prev_kv": kvs[1]}))
    write("etcd", "delete.json", json.dumps({"header": header, "deleted": "1", "prev_kvs": [kvs[2]]}))
    write("etcd", "txn.json", json.dumps({"header": header, "succeeded": True, "responses": [
        {"response_range": {"header": header, "kvs": kvs[:2], "count": "2"}}, {"response_put": {"header": header}},
        {"response_delete_range": {"header": header, "deleted": "1"}},
        {"response_txn": {"header": header, "succeeded": False, "responses": [{"response_range": {"header": header}}]}}, {}]}))
    write("etcd", "error.json", json.dumps({"error": "etcdserver: mvcc: required revision has been compacted", "code": 11,
                                            "message": "etcdserver: mvcc: required revision has been compacted"}))
    lines = [
        {"result": {"header": header, "watch_id": "0", "created": True}},
        {"result": {"header": header, "events": [{"kv": kvs[0]}, {"type": "DELETE", "kv": {"key": kvs[1]["key"], "mod_revision": "10"}, "prev_kv": kvs[1]}]}},
        {"result": {"header": dict(header, revision="20")}},
        {"result": {"header": header, "compact_revision": "4"}},
    ]
    write("etcd", "watch.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    write("etcd", "watch-canceled.jsonl", json.dumps({"result": {"header": header, "canceled": True, "cancel_reason": "gone"}}) + "\n")


def onnx():
    fixtures = sorted(glob.glob(os.path.join(ROOT, "Tests", "ONNXEngineTests", "Fixtures", "*.onnx")))
    for path in fixtures:
        if os.path.getsize(path) <= 16384:
            write("onnx", os.path.basename(path), open(path, "rb").read())
    ops = "add argmax cast concat constant div flatten gemm identity leakyrelu logsoftmax matmul mul relu reshape sigmoid softmax squeeze sub tanh transpose unsqueeze".split()
    taken = {}
    for path in sorted(glob.glob(os.path.join(NODE_DATA, "test_*", "model.onnx"))):
        case = os.path.basename(os.path.dirname(path))
        op = re.sub(r"^test_", "", case).split("_")[0]
        # A few cases per supported operator: enough to start from, few enough to commit.
        if op in ops and os.path.getsize(path) <= 4096 and "expanded" not in case and taken.get(op, 0) < 2:
            taken[op] = taken.get(op, 0) + 1
            write("onnx", case + ".onnx", open(path, "rb").read())


if __name__ == "__main__":
    shutil.rmtree(SEEDS, ignore_errors=True)
    for make in (rest, grpc, gossip, etcd, onnx):
        make()
