#!/usr/bin/env python3
"""ModelInfer calls spelled in ways a gRPC server must still answer, made with grpcio.

Usage: grpc_unusual_calls.py HOST:PORT MODEL
Prints one line per call: its name, then OK and the first output value, or the status code and
its details. The calls: a plain one; one compressed with gzip; two messages on a unary method;
none; one carrying binary (-bin) metadata; a plain one again.
"""
import struct
import sys

import grpc
from tritonclient.grpc import service_pb2

METHOD = "/inference.GRPCInferenceService/ModelInfer"


def request(model):
    message = service_pb2.ModelInferRequest(model_name=model)
    tensor = message.inputs.add(name="INPUT0", datatype="FP32", shape=[2])
    del tensor  # the values travel as raw contents
    message.raw_input_contents.append(struct.pack("<2f", 1.0, 2.0))
    return message


def describe(name, call):
    try:
        response = call()
        value = struct.unpack("<f", response.raw_output_contents[0][:4])[0] if response.raw_output_contents else response.outputs[0].contents.fp32_contents[0]
        return f"{name} OK {value:.3f}"
    except grpc.RpcError as error:
        return f"{name} {error.code().name} {error.details()}"


def main(target, model):
    serialize = service_pb2.ModelInferRequest.SerializeToString
    deserialize = service_pb2.ModelInferResponse.FromString
    with grpc.insecure_channel(target) as channel:
        unary = channel.unary_unary(METHOD, request_serializer=serialize, response_deserializer=deserialize)
        several = channel.stream_unary(METHOD, request_serializer=serialize, response_deserializer=deserialize)
        lines = [
            describe("plain", lambda: unary(request(model), timeout=10)),
            describe("gzip", lambda: unary(request(model), timeout=10, compression=grpc.Compression.Gzip)),
            describe("two-messages", lambda: several(iter([request(model), request(model)]), timeout=10)),
            describe("no-message", lambda: several(iter([]), timeout=10)),
            describe("binary-metadata", lambda: unary(request(model), timeout=10, metadata=[("mm-note-bin", b"\x00\xff\x10")])),
            describe("plain-again", lambda: unary(request(model), timeout=10)),
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
