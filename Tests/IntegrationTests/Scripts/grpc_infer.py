#!/usr/bin/env python3
"""One ModelInfer call with NVIDIA's tritonclient, for tests of models served by runtime servers.

Usage: grpc_infer.py HOST:PORT MODEL INPUTS_JSON
INPUTS_JSON is a list of {"name", "datatype", "shape", "data"} (Open Inference REST form).
Prints {"model_name", "outputs": [{"name", "datatype", "shape", "data"}]} as one JSON line, or
{"error": {"code", "message"}} with exit status 1 when the call fails.
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException, triton_to_np_dtype


def main(url, model, inputs_json):
    client = grpcclient.InferenceServerClient(url=url)
    inputs = []
    for spec in json.loads(inputs_json):
        tensor = grpcclient.InferInput(spec["name"], spec["shape"], spec["datatype"])
        tensor.set_data_from_numpy(np.array(spec["data"], dtype=triton_to_np_dtype(spec["datatype"])).reshape(spec["shape"]))
        inputs.append(tensor)
    try:
        result = client.infer(model, inputs)
    except InferenceServerException as error:
        print(json.dumps({"error": {"code": str(error.status()), "message": error.message()}}))
        return 1
    response = result.get_response()
    outputs = [{"name": output.name, "datatype": output.datatype, "shape": list(output.shape),
                "data": result.as_numpy(output.name).flatten().tolist()} for output in response.outputs]
    print(json.dumps({"model_name": response.model_name, "outputs": outputs}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
