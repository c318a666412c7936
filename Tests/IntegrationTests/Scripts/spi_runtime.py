#!/usr/bin/env python3
"""A scriptable model runtime for the runtime SPI integration tests.

Serves, on one loopback port, the runtime SPI the mesh drives (mmesh.ModelRuntime, compiled
at startup from --proto) and the Open Inference gRPC service (inference.GRPCInferenceService,
from the modules tritonclient ships). Every SPI call and inference is appended to --log as one
JSON line {"call", "model", "result", ...} so a test can check what the mesh asked for.

A model file is JSON: {"scale": 2, "offset": 1, "sizeBytes": 1048576, "loadMillis": 0}
(optional "failLoad": "why" makes the load fail with INTERNAL). A model directory must hold
exactly one file. Inference answers OUTPUT0 = INPUT0 * scale + offset, FP32, same shape.
Every READY answer to runtimeStatus first drops all loaded models and logs a "purge" event
with their ids (an empty list when there were none).

Usage: spi_runtime.py --port N --proto PATH/model-runtime.proto [--log FILE] [options]
Prints "listening 127.0.0.1:PORT" once serving; exits 0 on SIGTERM or SIGINT.
"""

import argparse
import json
import os
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
from grpc_tools import protoc
from tritonclient.grpc import service_pb2 as infer_pb2
from tritonclient.grpc import service_pb2_grpc as infer_grpc

RUNTIME_VERSION = "spi-test-1"
INFER_METHOD = "inference.GRPCInferenceService/ModelInfer"
# What modelSize answers for a model whose load reported 0 bytes.
LATE_MODEL_SIZE = 12345678


class BadModel(Exception):
    """The model file is missing or malformed: no load was attempted."""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True, help="0 picks a free port")
    p.add_argument("--proto", required=True, help="path of model-runtime.proto")
    p.add_argument("--log", help="file to append one JSON line per call to")
    p.add_argument("--starting-calls", type=int, default=0,
                   help="answer STARTING to this many runtimeStatus calls first")
    p.add_argument("--fail-unloads", type=int, default=0,
                   help="the first N unloadModel calls fail with UNAVAILABLE")
    p.add_argument("--capacity", type=int, default=1 << 30)
    p.add_argument("--loading-timeout-ms", type=int, default=30000)
    p.add_argument("--max-loading-concurrency", type=int, default=2)
    p.add_argument("--default-model-size", type=int, default=1 << 20)
    return p.parse_args(argv)


def compile_runtime_proto(proto_path, out_dir):
    """Generates the SPI's Python modules into out_dir and imports them."""
    proto_path = os.path.abspath(proto_path)
    include = os.path.dirname(proto_path)
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    rc = protoc.main([
        "protoc", "-I", include, "-I", well_known,
        "--python_out=" + out_dir, "--grpc_python_out=" + out_dir,
        os.path.basename(proto_path),
    ])
    if rc != 0:
        sys.exit("spi_runtime: protoc failed on %s" % proto_path)
    sys.path.insert(0, out_dir)
    stem = os.path.splitext(os.path.basename(proto_path))[0].replace("-", "_")
    pb = __import__(stem + "_pb2")
    pb_grpc = __import__(stem + "_pb2_grpc")
    return pb, pb_grpc


def read_model_file(path):
    """Returns the model's JSON object; raises BadModel with a reason."""
    if os.path.isdir(path):
        names = [n for n in os.listdir(path) if not n.startswith(".")]
        if len(names) != 1:
            raise BadModel("model directory %s holds %d files, want 1" % (path, len(names)))
        path = os.path.join(path, names[0])
    try:
        with open(path) as f:
            spec = json.load(f)
    except OSError as e:
        raise BadModel("cannot read model file %s: %s" % (path, e.strerror))
    except ValueError as e:
        raise BadModel("model file %s is not JSON: %s" % (path, e))
    if not isinstance(spec, dict):
        raise BadModel("model file %s is not a JSON object" % path)
    for key in ("scale", "offset", "sizeBytes", "loadMillis"):
        value = spec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadModel("model file %s: %r must be a number" % (path, key))
        if key in ("sizeBytes", "loadMillis") and value < 0:
            raise BadModel("model file %s: %r must not be negative" % (path, key))
    return spec


class EventLog:
    """Appends one JSON line per event; flushed at once so tests can read it live."""

    def __init__(self, path):
        self._file = open(path, "a") if path else None
        self._lock = threading.Lock()

    def write(self, call, model, result, **extra):
        if not self._file:
            return
        event = {"call": call, "model": model, "result": result, "time": time.time()}
        event.update(extra)
        with self._lock:
            self._file.write(json.dumps(event) + "\n")
            self._file.flush()


class Runtime:
    """The runtime's state, shared by both services."""

    def __init__(self, args, pb, log):
        self.args = args
        self.pb = pb
        self.log = log
        self.lock = threading.Lock()
        self.models = {}  # model id -> {"scale", "offset", "size"}
        self.status_calls = 0
        self.unload_calls = 0

    # mmesh.ModelRuntime

    def runtimeStatus(self, request, context):
        pb = self.pb
        with self.lock:
            self.status_calls += 1
            starting = self.status_calls <= self.args.starting_calls
            purged = []
            if not starting:
                # The peer asking has just started and knows of no model: drop them all.
                purged = sorted(self.models)
                self.models.clear()
        if starting:
            self.log.write("runtimeStatus", None, "STARTING")
            return pb.RuntimeStatusResponse(status=pb.RuntimeStatusResponse.STARTING)
        self.log.write("purge", None, purged)
        response = pb.RuntimeStatusResponse(
            status=pb.RuntimeStatusResponse.READY,
            capacityInBytes=self.args.capacity,
            maxLoadingConcurrency=self.args.max_loading_concurrency,
            modelLoadingTimeoutMs=self.args.loading_timeout_ms,
            defaultModelSizeInBytes=self.args.default_model_size,
            runtimeVersion=RUNTIME_VERSION,
            limitModelConcurrency=False,
            allowAnyMethod=False,
        )
        response.methodInfos[INFER_METHOD].idInjectionPath.append(1)
        self.log.write("runtimeStatus", None, "READY")
        return response

    def loadModel(self, request, context):
        model_id = request.modelId
        try:
            spec = read_model_file(request.modelPath)
        except BadModel as e:
            self.log.write("loadModel", model_id, "INVALID_ARGUMENT", message=str(e))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        # Simulate a slow load; stop early if the caller cancels it.
        deadline = time.monotonic() + spec.get("loadMillis", 0) / 1000.0
        while time.monotonic() < deadline:
            if not context.is_active():
                self.log.write("loadModel", model_id, "CANCELLED")
                return self.pb.LoadModelResponse()
            time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
        if spec.get("failLoad"):
            message = "load failed: %s" % spec["failLoad"]
            self.log.write("loadModel", model_id, "INTERNAL", message=message)
            context.abort(grpc.StatusCode.INTERNAL, message)
        size = int(spec.get("sizeBytes", self.args.default_model_size))
        with self.lock:
            self.models[model_id] = {
                "scale": float(spec.get("scale", 1)),
                "offset": float(spec.get("offset", 0)),
                "size": size,
            }
        self.log.write("loadModel", model_id, size, modelType=request.modelType,
                       modelPath=request.modelPath, modelKey=request.modelKey)
        return self.pb.LoadModelResponse(sizeInBytes=size)

    def unloadModel(self, request, context):
        model_id = request.modelId
        with self.lock:
            self.unload_calls += 1
            fail = self.unload_calls <= self.args.fail_unloads
            known = False
            if not fail:
                known = self.models.pop(model_id, None) is not None
        if fail:
            self.log.write("unloadModel", model_id, "UNAVAILABLE")
            context.abort(grpc.StatusCode.UNAVAILABLE, "unload refused (--fail-unloads)")
        self.log.write("unloadModel", model_id, "OK" if known else "OK_UNKNOWN")
        return self.pb.UnloadModelResponse()

    def predictModelSize(self, request, context):
        try:
            size = int(read_model_file(request.modelPath).get("sizeBytes", 0))
        except BadModel:
            size = 0
        size = size or self.args.default_model_size
        self.log.write("predictModelSize", request.modelId, size)
        return self.pb.PredictModelSizeResponse(sizeInBytes=size)

    def modelSize(self, request, context):
        with self.lock:
            model = self.models.get(request.modelId)
        if model is None:
            self.log.write("modelSize", request.modelId, "NOT_FOUND")
            context.abort(grpc.StatusCode.NOT_FOUND, "model %s is not loaded" % request.modelId)
        size = model["size"] or LATE_MODEL_SIZE
        self.log.write("modelSize", request.modelId, size)
        return self.pb.ModelSizeResponse(sizeInBytes=size)


class InferenceService(infer_grpc.GRPCInferenceServiceServicer):
    """The Open Inference gRPC service over the runtime's loaded models."""

    def __init__(self, runtime):
        self.runtime = runtime

    def _model(self, name):
        with self.runtime.lock:
            return self.runtime.models.get(name)

    def ServerLive(self, request, context):
        return infer_pb2.ServerLiveResponse(live=True)

    def ServerReady(self, request, context):
        return infer_pb2.ServerReadyResponse(ready=True)

    def ServerMetadata(self, request, context):
        return infer_pb2.ServerMetadataResponse(name="spi-runtime", version=RUNTIME_VERSION)

    def ModelReady(self, request, context):
        return infer_pb2.ModelReadyResponse(ready=self._model(request.name) is not None)

    def ModelMetadata(self, request, context):
        if self._model(request.name) is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "model %s is not loaded" % request.name)
        tensor = infer_pb2.ModelMetadataResponse.TensorMetadata
        return infer_pb2.ModelMetadataResponse(
            name=request.name, platform="spi-test",
            inputs=[tensor(name="INPUT0", datatype="FP32", shape=[-1])],
            outputs=[tensor(name="OUTPUT0", datatype="FP32", shape=[-1])],
        )

    def ModelInfer(self, request, context):
        model_id = request.model_name
        header = dict(context.invocation_metadata()).get("mm-model-id")
        seen = {"headerPresent": header is not None, "header": header}
        model = self._model(model_id)
        if model is None:
            self.runtime.log.write("infer", model_id, "NOT_FOUND", **seen)
            context.abort(grpc.StatusCode.NOT_FOUND, "model %s is not loaded" % model_id)
        try:
            index, values, raw = self._input(request)
        except ValueError as e:
            self.runtime.log.write("infer", model_id, "INVALID_ARGUMENT", message=str(e), **seen)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        result = [v * model["scale"] + model["offset"] for v in values]
        response = infer_pb2.ModelInferResponse(model_name=model_id, id=request.id)
        output = response.outputs.add(name="OUTPUT0", datatype="FP32",
                                      shape=request.inputs[index].shape)
        # Answer in the form the request used.
        if raw:
            response.raw_output_contents.append(struct.pack("<%df" % len(result), *result))
        else:
            output.contents.fp32_contents.extend(result)
        self.runtime.log.write("infer", model_id, "OK", form="raw" if raw else "typed", **seen)
        return response

    @staticmethod
    def _input(request):
        """Returns (index, FP32 values, raw?) of INPUT0, or of the only input."""
        names = [t.name for t in request.inputs]
        if "INPUT0" in names:
            index = names.index("INPUT0")
        elif len(names) == 1:
            index = 0
        else:
            raise ValueError("want input INPUT0, got %s" % names)
        tensor = request.inputs[index]
        if tensor.datatype != "FP32":
            raise ValueError("INPUT0 must be FP32, got %s" % tensor.datatype)
        count = 1
        for dim in tensor.shape:
            count *= dim
        raw = len(request.raw_input_contents) > 0
        if raw:
            if index >= len(request.raw_input_contents):
                raise ValueError("no raw_input_contents for input %d" % index)
            data = request.raw_input_contents[index]
            if len(data) != 4 * count:
                raise ValueError("raw INPUT0 has %d bytes, shape needs %d" % (len(data), 4 * count))
            values = list(struct.unpack("<%df" % count, data))
        else:
            values = list(tensor.contents.fp32_contents)
            if len(values) != count:
                raise ValueError("INPUT0 has %d values, shape needs %d" % (len(values), count))
        return index, values, raw


def main(argv):
    args = parse_args(argv)
    work = tempfile.mkdtemp(prefix="spi-runtime-")
    try:
        pb, pb_grpc = compile_runtime_proto(args.proto, work)
        runtime = Runtime(args, pb, EventLog(args.log))
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        pb_grpc.add_ModelRuntimeServicer_to_server(runtime, server)
        infer_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceService(runtime), server)
        port = server.add_insecure_port("127.0.0.1:%d" % args.port)
        if port == 0:
            sys.exit("spi_runtime: cannot listen on 127.0.0.1:%d" % args.port)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        server.start()
        print("listening 127.0.0.1:%d" % port, flush=True)
        stop.wait()
        server.stop(grace=1).wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
