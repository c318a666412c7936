"""Fixture models for ONNXEngine's tests; run through tools/make-onnx-fixtures."""

import json
import math
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

ort.set_default_logger_severity(3)  # exporters declare label shapes that make ort warn on every run
from onnx import TensorProto, helper

OUT = sys.argv[1]
ROWS = 8
rng = np.random.default_rng(7)


def encode_number(v):
    # JSON has no NaN or infinities; spell them as strings.
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def tensor_json(value):
    if isinstance(value, list) and value and isinstance(value[0], dict):
        # ZipMap: a list of {label: probability}; store as [N, C] plus the labels.
        labels = list(value[0].keys())
        data = [[float(row[k]) for k in labels] for row in value]
        return {"type": "float", "shape": [len(value), len(labels)],
                "data": [encode_number(x) for r in data for x in r],
                "zipmap_labels": [l if isinstance(l, str) else int(l) for l in labels]}
    a = np.asarray(value)
    kind = {np.dtype("float32"): "float", np.dtype("float64"): "double", np.dtype("int64"): "int64",
            np.dtype("int32"): "int32", np.dtype("bool"): "bool"}.get(a.dtype)
    if kind is None and a.dtype.kind in "OU":
        kind = "string"
    if kind is None:
        raise ValueError(f"unsupported dtype {a.dtype}")
    flat = a.reshape(-1).tolist()
    if kind in ("float", "double"):
        flat = [encode_number(float(x)) for x in flat]
    elif kind == "string":
        flat = [str(x) for x in flat]
    return {"type": kind, "shape": list(a.shape), "data": flat}


def save(name, model, inputs, note, tolerance=1e-4):
    path = os.path.join(OUT, name + ".onnx")
    onnx.save_model(model, path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    results = session.run(names, inputs)
    fixture = {
        "model": name + ".onnx",
        "note": note,
        "tolerance": tolerance,
        "onnxruntime": ort.__version__,
        "inputs": {k: tensor_json(v) for k, v in inputs.items()},
        "outputs": {n: tensor_json(r) for n, r in zip(names, results)},
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(fixture, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {os.path.getsize(path)} bytes, ops "
          f"{sorted({(n.domain or 'ai.onnx') + ':' + n.op_type for n in model.graph.node})}")


def sk(model, x, **options):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    return to_onnx(model, initial_types=[("float_input", FloatTensorType([None, x.shape[1]]))],
                   target_opset={"": 15, "ai.onnx.ml": 3}, options={id(model): options} if options else None)


def sklearn_models():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
    from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                                  RandomForestClassifier, RandomForestRegressor)
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import LabelEncoder, Normalizer, StandardScaler, MinMaxScaler

    iris_x, iris_y = load_iris(return_X_y=True)
    iris_x = iris_x.astype(np.float32)
    diab_x, diab_y = load_diabetes(return_X_y=True)
    diab_x = diab_x.astype(np.float32)
    bc_x, bc_y = load_breast_cancer(return_X_y=True)
    bc_x = bc_x[:, :8].astype(np.float32)
    pick = rng.choice(len(iris_x), ROWS, replace=False)

    m = LogisticRegression(max_iter=500).fit(iris_x, iris_y)
    save("iris-classifier", sk(m, iris_x), {"float_input": iris_x[pick]},
         "sklearn LogisticRegression on iris (4 float features, classes 0/1/2), ZipMap probabilities")

    m = LinearRegression().fit(diab_x, diab_y)
    save("diabetes-regressor", sk(m, diab_x), {"float_input": diab_x[:ROWS]},
         "sklearn LinearRegression on the diabetes data (10 float features)")

    m = LogisticRegression(max_iter=2000).fit(bc_x, bc_y)
    save("binary-logistic", sk(m, bc_x, zipmap=False), {"float_input": bc_x[:ROWS]},
         "binary LogisticRegression: one weight row, [1-p, p] scores")

    m = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(iris_x, iris_y)
    save("random-forest-classifier", sk(m, iris_x, zipmap=False), {"float_input": iris_x[pick]},
         "sklearn RandomForestClassifier, 8 trees")

    m = RandomForestRegressor(n_estimators=8, max_depth=4, random_state=0).fit(diab_x, diab_y)
    save("random-forest-regressor", sk(m, diab_x), {"float_input": diab_x[:ROWS]},
         "sklearn RandomForestRegressor, 8 trees")

    m = GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0).fit(bc_x, bc_y)
    save("gradient-boosting-binary", sk(m, bc_x, zipmap=False), {"float_input": bc_x[:ROWS]},
         "sklearn GradientBoostingClassifier, binary, LOGISTIC")

    m = GradientBoostingClassifier(n_estimators=6, max_depth=2, random_state=0).fit(iris_x, iris_y)
    save("gradient-boosting-multiclass", sk(m, iris_x, zipmap=False), {"float_input": iris_x[pick]},
         "sklearn GradientBoostingClassifier, 3 classes, SOFTMAX")

    m = GradientBoostingRegressor(n_estimators=10, max_depth=3, random_state=0).fit(diab_x, diab_y)
    save("gradient-boosting-regressor", sk(m, diab_x), {"float_input": diab_x[:ROWS]},
         "sklearn GradientBoostingRegressor with a base value")

    m = make_pipeline(StandardScaler(), Normalizer(norm="l2"), LogisticRegression(max_iter=500)).fit(iris_x, iris_y)
    save("scaler-normalizer-pipeline", sk(m, iris_x), {"float_input": iris_x[pick]},
         "StandardScaler -> Normalizer(l2) -> LogisticRegression")

    for norm in ("l1", "max"):
        m = make_pipeline(MinMaxScaler(), Normalizer(norm=norm)).fit(diab_x)
        save(f"normalizer-{norm}", sk(m, diab_x), {"float_input": diab_x[:ROWS]},
             f"MinMaxScaler -> Normalizer({norm})")

    words = np.array(["setosa", "versicolor", "virginica", "unknown-ish"])
    enc = LabelEncoder().fit(words[:3])
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    model = to_onnx(enc, initial_types=[("label", StringTensorType([None]))],
                    target_opset={"": 15, "ai.onnx.ml": 2})
    save("label-encoder", model, {"label": words[[0, 2, 1, 3, 0, 1]]},
         "sklearn LabelEncoder: strings to int64, unknown maps to the default")

    m = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=400, random_state=0).fit(iris_x, iris_y)
    save("mlp-classifier", sk(m, iris_x), {"float_input": iris_x[pick]},
         "sklearn MLPClassifier (MatMul, Add, Relu, Softmax, ArgMax, ZipMap)")

    m = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", max_iter=300, random_state=0).fit(diab_x, diab_y)
    save("mlp-regressor", sk(m, diab_x), {"float_input": diab_x[:ROWS]},
         "sklearn MLPRegressor with tanh")
    return iris_x, iris_y, diab_x, diab_y, bc_x, bc_y, pick


def boosted_models(iris_x, iris_y, diab_x, diab_y, bc_x, bc_y, pick):
    import lightgbm
    import xgboost
    from onnxmltools import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    types = lambda n: [("input", FloatTensorType([None, n]))]

    m = xgboost.XGBClassifier(n_estimators=6, max_depth=3).fit(iris_x, iris_y)
    save("xgboost-classifier", convert_xgboost(m, initial_types=types(4), target_opset=15),
         {"input": iris_x[pick]}, "XGBClassifier, 3 classes")

    m = xgboost.XGBClassifier(n_estimators=6, max_depth=3).fit(bc_x, bc_y)
    save("xgboost-binary", convert_xgboost(m, initial_types=types(8), target_opset=15),
         {"input": bc_x[:ROWS]}, "XGBClassifier, binary")

    m = xgboost.XGBRegressor(n_estimators=8, max_depth=3).fit(diab_x, diab_y)
    x = diab_x[:ROWS].copy()
    x[1, 2] = np.nan
    save("xgboost-regressor", convert_xgboost(m, initial_types=types(10), target_opset=15),
         {"input": x}, "XGBRegressor (BRANCH_LT, missing values)")

    m = lightgbm.LGBMClassifier(n_estimators=6, num_leaves=6, verbose=-1).fit(iris_x, iris_y)
    save("lightgbm-classifier", convert_lightgbm(m, initial_types=types(4), target_opset=15, zipmap=False),
         {"input": iris_x[pick]}, "LGBMClassifier, 3 classes")

    m = lightgbm.LGBMClassifier(n_estimators=6, num_leaves=6, verbose=-1).fit(bc_x, bc_y)
    save("lightgbm-binary", convert_lightgbm(m, initial_types=types(8), target_opset=15, zipmap=False),
         {"input": bc_x[:ROWS]}, "LGBMClassifier, binary")

    m = lightgbm.LGBMRegressor(n_estimators=8, num_leaves=8, verbose=-1).fit(diab_x, diab_y)
    x = diab_x[:ROWS].copy()
    x[2, 0] = np.nan
    save("lightgbm-regressor", convert_lightgbm(m, initial_types=types(10), target_opset=15),
         {"input": x}, "LGBMRegressor (missing values)")


def tree_attributes(prefix, modes, thresholds, leaf_weights, targets):
    """Two small trees over 3 features; `modes` gives the two branch modes of each tree."""
    attrs = {"nodes_treeids": [], "nodes_nodeids": [], "nodes_featureids": [], "nodes_modes": [],
             "nodes_values": [], "nodes_truenodeids": [], "nodes_falsenodeids": [],
             "nodes_missing_value_tracks_true": [],
             f"{prefix}_treeids": [], f"{prefix}_nodeids": [], f"{prefix}_ids": [], f"{prefix}_weights": []}
    for tree in range(2):
        # node 0 splits to 1 (true) / 2 (false); node 1 splits to 3 / 4; 2, 3, 4 are leaves.
        layout = [(0, tree % 3, modes[tree][0], thresholds[tree][0], 1, 2, 1),
                  (1, (tree + 1) % 3, modes[tree][1], thresholds[tree][1], 3, 4, 0),
                  (2, 0, "LEAF", 0.0, 0, 0, 0), (3, 0, "LEAF", 0.0, 0, 0, 0), (4, 0, "LEAF", 0.0, 0, 0, 0)]
        for node, feature, mode, value, t, f, missing in layout:
            attrs["nodes_treeids"].append(tree)
            attrs["nodes_nodeids"].append(node)
            attrs["nodes_featureids"].append(feature)
            attrs["nodes_modes"].append(mode)
            attrs["nodes_values"].append(value)
            attrs["nodes_truenodeids"].append(t)
            attrs["nodes_falsenodeids"].append(f)
            attrs["nodes_missing_value_tracks_true"].append(missing)
        for leaf in (2, 3, 4):
            for target in targets:
                attrs[f"{prefix}_treeids"].append(tree)
                attrs[f"{prefix}_nodeids"].append(leaf)
                attrs[f"{prefix}_ids"].append(target)
                attrs[f"{prefix}_weights"].append(leaf_weights(tree, leaf, target))
    return attrs


def tree_inputs():
    x = rng.normal(size=(ROWS, 3)).astype(np.float32).round(1)
    x[0, 0] = 0.5
    x[1, 1] = -0.25
    x[2, 2] = np.nan
    x[3, 0] = np.nan
    return x


def handmade_trees():
    modes = [("BRANCH_LT", "BRANCH_GTE"), ("BRANCH_GT", "BRANCH_EQ")]
    thresholds = [(0.5, -0.25), (0.0, -0.25)]
    other = [("BRANCH_NEQ", "BRANCH_LEQ"), ("BRANCH_LEQ", "BRANCH_LT")]
    x = tree_inputs()
    for aggregate in ("SUM", "AVERAGE", "MIN", "MAX"):
        for transform in (["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"] if aggregate == "SUM" else ["NONE"]):
            attrs = tree_attributes("target", modes if aggregate != "MAX" else other, thresholds,
                                    lambda t, l, k: (l - 2.5) * (k + 1) + t * 0.5, [0, 1])
            node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml",
                                    n_targets=2, aggregate_function=aggregate, post_transform=transform,
                                    base_values=[0.25, -0.5], **attrs)
            graph = helper.make_graph([node], "trees", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
                                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 2])])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3)])
            save(f"tree-regressor-{aggregate.lower()}-{transform.lower().replace('_', '-')}", model, {"X": x},
                 f"hand-built TreeEnsembleRegressor, {aggregate}, {transform}, all branch modes, NaN inputs")

    attrs = tree_attributes("target", modes, thresholds, lambda t, l, k: 0.1 * l + 0.05 * t, [0])
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml",
                            n_targets=1, aggregate_function="AVERAGE", post_transform="PROBIT", **attrs)
    graph = helper.make_graph([node], "trees", [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, 3])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3)])
    save("tree-regressor-probit-double", model, {"X": x.astype(np.float64)},
         "hand-built single-target regressor, AVERAGE, PROBIT, double input")

    for name, targets, weights, transform, base in [
            ("binary-positive", [0], lambda t, l, k: 0.2 * l - 0.3 + 0.1 * t, "NONE", []),
            ("binary-logistic", [0], lambda t, l, k: (l - 3) * 0.7, "LOGISTIC", []),
            ("binary-base", [1], lambda t, l, k: (l - 3) * 0.7, "LOGISTIC", [0.1, 0.1]),
            ("multiclass-softmax-zero", [0, 2], lambda t, l, k: (l - 3) * (k - 1) * 0.5, "SOFTMAX_ZERO", []),
            ("multiclass-softmax", [0, 1, 2], lambda t, l, k: l * 0.1 + k * 0.2 - t * 0.3, "SOFTMAX", [0.1, 0.2, 0.3])]:
        classes = 2 if name.startswith("binary") else 3
        attrs = tree_attributes("class", modes, thresholds, weights, targets)
        labels = [f"class-{i}" for i in range(classes)] if "softmax-zero" in name else list(range(10, 10 + classes))
        label_attr = {"classlabels_strings": labels} if isinstance(labels[0], str) else {"classlabels_int64s": labels}
        node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "scores"], domain="ai.onnx.ml",
                                post_transform=transform, **({"base_values": base} if base else {}), **label_attr, **attrs)
        label_type = TensorProto.STRING if isinstance(labels[0], str) else TensorProto.INT64
        graph = helper.make_graph([node], "trees", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
                                  [helper.make_tensor_value_info("label", label_type, [None]),
                                   helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, classes])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3)])
        save(f"tree-classifier-{name}", model, {"X": x}, f"hand-built TreeEnsembleClassifier, {name}")


def helper_graphs():
    f = TensorProto.FLOAT
    w1 = rng.normal(size=(6, 4)).astype(np.float32)
    b1 = rng.normal(size=(6,)).astype(np.float32)
    w2 = rng.normal(size=(6, 5)).astype(np.float32)
    nodes = [
        helper.make_node("Constant", [], ["scale"], value=helper.make_tensor("scale", f, [1], [0.5])),
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], transB=1, alpha=0.9, beta=1.1),
        helper.make_node("LeakyRelu", ["h1"], ["a1"], alpha=0.05),
        helper.make_node("MatMul", ["a1", "w2"], ["h2"]),
        helper.make_node("Tanh", ["h2"], ["t"]),
        helper.make_node("Sigmoid", ["h2"], ["s"]),
        helper.make_node("Mul", ["t", "scale"], ["ts"]),
        helper.make_node("Sub", ["s", "ts"], ["d"]),
        helper.make_node("Div", ["d", "two"], ["q"]),
        helper.make_node("Concat", ["q", "t"], ["c"], axis=-1),
        helper.make_node("Unsqueeze", ["c", "axes"], ["u"]),
        helper.make_node("Transpose", ["u"], ["tr"], perm=[1, 0, 2]),
        helper.make_node("Flatten", ["tr"], ["fl"], axis=1),
        helper.make_node("Reshape", ["fl", "shape"], ["r"]),
        helper.make_node("Squeeze", ["r", "axes"], ["sq"]),
        helper.make_node("LogSoftmax", ["sq"], ["logp"], axis=-1),
        helper.make_node("Softmax", ["sq"], ["p"]),
        helper.make_node("ArgMax", ["p"], ["best"], axis=1, keepdims=0),
        helper.make_node("Cast", ["best"], ["best_f"], to=TensorProto.DOUBLE),
        helper.make_node("Identity", ["logp"], ["logp_out"]),
        helper.make_node("Relu", ["h1"], ["relu"]),
        helper.make_node("Add", ["relu", "b1"], ["relu_b"]),
    ]
    inits = [helper.make_tensor("w1", f, w1.shape, w1.flatten()),
             onnx.numpy_helper.from_array(b1, "b1"),
             onnx.numpy_helper.from_array(w2, "w2"),
             onnx.numpy_helper.from_array(np.array([2.0], np.float32), "two"),
             onnx.numpy_helper.from_array(np.array([1], np.int64), "axes"),
             onnx.numpy_helper.from_array(np.array([0, 1, -1], np.int64), "shape")]
    graph = helper.make_graph(nodes, "mixed", [helper.make_tensor_value_info("x", f, ["batch", 4])],
                              [helper.make_tensor_value_info("logp_out", f, None),
                               helper.make_tensor_value_info("best_f", TensorProto.DOUBLE, None),
                               helper.make_tensor_value_info("relu_b", f, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    save("mixed-operators-opset13", model, {"x": rng.normal(size=(ROWS, 4)).astype(np.float32)},
         "onnx.helper graph covering the standard operators at opset 13")

    # Opset 11: Softmax coerces to 2-D, Unsqueeze/Squeeze take attributes.
    nodes = [
        helper.make_node("Unsqueeze", ["x"], ["u"], axes=[1]),
        helper.make_node("Reshape", ["u", "shape"], ["r"]),
        helper.make_node("Softmax", ["r"], ["p"], axis=1),
        helper.make_node("LogSoftmax", ["r"], ["lp"]),
        helper.make_node("Squeeze", ["u"], ["sq"], axes=[1]),
        helper.make_node("ArgMax", ["r"], ["am"], axis=-1, keepdims=1),
        helper.make_node("Cast", ["am"], ["amf"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["amf", "amf"], ["cc"], axis=2),
    ]
    inits = [onnx.numpy_helper.from_array(np.array([0, 2, 3], np.int64), "shape")]
    graph = helper.make_graph(nodes, "legacy", [helper.make_tensor_value_info("x", f, ["batch", 6])],
                              [helper.make_tensor_value_info("p", f, None), helper.make_tensor_value_info("sq", f, None),
                               helper.make_tensor_value_info("lp", f, None),
                               helper.make_tensor_value_info("cc", f, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    save("legacy-opset11", model, {"x": rng.normal(size=(ROWS, 6)).astype(np.float32)},
         "opset 11 forms: Softmax over trailing axes, attribute axes")

    # String labels through LinearClassifier, ZipMap and LabelEncoder (int64 -> string).
    nodes = [
        helper.make_node("LinearClassifier", ["x"], ["label", "scores"], domain="ai.onnx.ml",
                         classlabels_strings=["alpha", "beta", "gamma"], post_transform="SOFTMAX",
                         coefficients=rng.normal(size=9).round(2).tolist(), intercepts=[0.1, -0.2, 0.05]),
        helper.make_node("ZipMap", ["scores"], ["probabilities"], domain="ai.onnx.ml",
                         classlabels_strings=["alpha", "beta", "gamma"]),
        helper.make_node("LabelEncoder", ["ids"], ["names"], domain="ai.onnx.ml",
                         keys_int64s=[1, 2, 3], values_strings=["one", "two", "three"], default_string="none"),
        helper.make_node("ArrayFeatureExtractor", ["x", "columns"], ["picked"], domain="ai.onnx.ml"),
        helper.make_node("Scaler", ["picked"], ["scaled"], domain="ai.onnx.ml", offset=[0.5, 0.5], scale=[2.0, -1.0]),
        helper.make_node("LinearRegressor", ["x"], ["regressed"], domain="ai.onnx.ml", targets=2,
                         coefficients=rng.normal(size=6).round(2).tolist(), intercepts=[1.0, -1.0]),
    ]
    graph = helper.make_graph(
        nodes, "strings",
        [helper.make_tensor_value_info("x", f, ["batch", 3]), helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch"])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, ["batch"]),
         helper.make_value_info("probabilities", helper.make_sequence_type_proto(
             helper.make_map_type_proto(TensorProto.STRING, helper.make_tensor_type_proto(f, [])))),
         helper.make_tensor_value_info("names", TensorProto.STRING, ["batch"]),
         helper.make_tensor_value_info("scaled", f, ["batch", 2]),
         helper.make_tensor_value_info("regressed", f, ["batch", 2])],
        [onnx.numpy_helper.from_array(np.array([2, 0], np.int64), "columns")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 2)])
    save("ml-string-labels", model, {"x": rng.normal(size=(ROWS, 3)).astype(np.float32),
                                     "ids": np.array([1, 2, 3, 4, 0, 3, 2, 1], np.int64)},
         "string labels: LinearClassifier, ZipMap, LabelEncoder int64->string; ArrayFeatureExtractor, Scaler, LinearRegressor")

    # A wider MLP for the benchmark (784 -> 128 -> 64 -> 10).
    sizes = [784, 128, 64, 10]
    nodes, inits, prev = [], [], "x"
    for i in range(3):
        w = (rng.normal(size=(sizes[i], sizes[i + 1])) / np.sqrt(sizes[i])).astype(np.float32)
        b = rng.normal(size=(sizes[i + 1],)).astype(np.float32) * 0.1
        inits += [onnx.numpy_helper.from_array(w, f"w{i}"), onnx.numpy_helper.from_array(b, f"b{i}")]
        nodes += [helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"z{i}"])]
        prev = f"z{i}"
        if i < 2:
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"]))
            prev = f"r{i}"
    nodes.append(helper.make_node("Softmax", [prev], ["probabilities"], axis=-1))
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", f, ["batch", 784])],
                              [helper.make_tensor_value_info("probabilities", f, ["batch", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    save("mlp-784", model, {"x": rng.normal(size=(4, 784)).astype(np.float32)},
         "784-128-64-10 MLP built with onnx.helper (benchmark model)")


if __name__ == "__main__":
    data = sklearn_models()
    boosted_models(*data)
    handmade_trees()
    helper_graphs()
