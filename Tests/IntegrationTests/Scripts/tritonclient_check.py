"""Runs NVIDIA's official Python clients (tritonclient) against one peer of the mesh, over HTTP
and gRPC: health, metadata, the iris classifier's inference, and an unknown model's error.

Usage: tritonclient_check.py HTTP_HOST:PORT GRPC_HOST:PORT MAX_BODY_BYTES [CA CERT KEY]
With CA, CERT and KEY (PEM files) both clients use TLS, trust CA and present CERT.
Prints one "ok <protocol>" line per protocol that passed; exits non-zero on the first failure.
"""
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

SAMPLES = np.array([[5.1, 3.5, 1.4, 0.2], [6.0, 2.9, 4.5, 1.5], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


def field(value, name):
    """Metadata is a dict over HTTP and a protobuf message over gRPC."""
    return value[name] if isinstance(value, dict) else getattr(value, name)


def make_client(protocol, module, url, tls):
    if tls is None:
        return module.InferenceServerClient(url=url)
    ca, cert, key = tls
    if protocol == "http":
        return module.InferenceServerClient(url=url, ssl=True, ssl_options={"ca_certs": ca, "certfile": cert, "keyfile": key})
    return module.InferenceServerClient(url=url, ssl=True, root_certificates=ca, private_key=key, certificate_chain=cert)


def check(protocol, module, url, limit, tls=None):
    client = make_client(protocol, module, url, tls)
    assert client.is_server_live(), "server not live"
    assert client.is_server_ready(), "server not ready"
    server = client.get_server_metadata()
    assert "model_repository" in list(field(server, "extensions")), server
    assert client.is_model_ready("iris"), "iris not ready"

    metadata = client.get_model_metadata("iris")
    assert field(metadata, "name") == "iris", metadata
    inputs = field(metadata, "inputs")
    assert [field(i, "name") for i in inputs] == ["float_input"], metadata
    assert list(field(inputs[0], "shape")) == [-1, 4], metadata

    tensor = module.InferInput("float_input", list(SAMPLES.shape), "FP32")
    tensor.set_data_from_numpy(SAMPLES)
    outputs = [module.InferRequestedOutput("output_label"), module.InferRequestedOutput("output_probability")]
    result = client.infer("iris", [tensor], outputs=outputs, request_id="triton-" + protocol)
    labels = result.as_numpy("output_label")
    probabilities = result.as_numpy("output_probability")
    assert labels.tolist() == [0, 1, 2], labels
    assert probabilities.shape == (3, 3), probabilities.shape
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4), probabilities
    response = result.get_response()
    assert field(response, "model_name") == "iris", response
    assert field(response, "id") == "triton-" + protocol, response

    try:
        client.infer("no-such-model", [tensor])
        raise AssertionError("an unknown model answered")
    except InferenceServerException as error:
        assert "no-such-model is not registered" in error.message(), error
        assert str(error.status()) in ("404", "StatusCode.NOT_FOUND"), error.status()

    # Over the peer's --max-body-bytes: refused with a message that names the limit.
    rows = limit // 16 + 1000
    large = module.InferInput("float_input", [rows, 4], "FP32")
    large.set_data_from_numpy(np.ones((rows, 4), dtype=np.float32))
    try:
        client.infer("iris", [large])
        raise AssertionError("an oversized request was accepted")
    except InferenceServerException as error:
        assert "this peer accepts at most %d" % limit in error.message(), error
        assert str(error.status()) in ("413", "StatusCode.RESOURCE_EXHAUSTED"), error.status()
    assert client.is_server_live()
    print("ok", protocol, flush=True)


def main():
    http_url, grpc_url, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tls = tuple(sys.argv[4:7]) if len(sys.argv) >= 7 else None
    check("http", httpclient, http_url, limit, tls)
    check("grpc", grpcclient, grpc_url, limit, tls)


if __name__ == "__main__":
    main()
