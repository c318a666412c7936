#!/usr/bin/env python3
"""Trains three tiny deterministic models for the MLServer integration tests.

Usage: python3 runtime_fixtures.py OUTDIR

Writes OUTDIR/sklearn/model.joblib, OUTDIR/xgboost/model.json and
OUTDIR/lightgbm/model.bst (the file names MLServer's runtimes look for), then
prints one JSON object: for each model the MLServer implementation, the model
file, the V2 REST input to send and the outputs MLServer answers with.
The expectations come from reloading each saved file the way MLServer's
runtimes do and calling predict, so they check the file as served.
"""

import json
import os
import sys

import joblib
import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn.linear_model import LogisticRegression

# Check rows: every value is exact in FP32, so JSON carries them unchanged.
CHECK_ROWS = np.array(
    [[1.5, 0.25, -0.75, 2.0], [-1.25, -0.5, 1.75, -0.25]], dtype=np.float32
)
INPUT_NAME = "input-0"

# numpy dtype -> V2 datatype, as MLServer's NumpyCodec names them.
DATATYPES = {"int64": "INT64", "int32": "INT32", "float32": "FP32", "float64": "FP64"}


def dataset():
    """300 rows, 4 features, 3 classes, fixed seed."""
    rng = np.random.RandomState(7)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


def v2_output(name, y):
    """The output as MLServer encodes it: a 1-D result gains a trailing 1."""
    y = np.asarray(y)
    shape = list(y.shape) + ([1] if y.ndim == 1 else [])
    return {
        "name": name,
        "datatype": DATATYPES[str(y.dtype)],
        "shape": shape,
        "data": y.flatten().tolist(),
    }


def load_xgboost(path):
    # MLServer tries a regressor first and falls back to a classifier.
    try:
        model = xgb.XGBRegressor()
        model.load_model(path)
    except TypeError:
        model = xgb.XGBClassifier()
        model.load_model(path)
    return model


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: runtime_fixtures.py OUTDIR")
    out = os.path.abspath(sys.argv[1])
    x, y = dataset()

    paths = {
        "sklearn": os.path.join(out, "sklearn", "model.joblib"),
        "xgboost": os.path.join(out, "xgboost", "model.json"),
        "lightgbm": os.path.join(out, "lightgbm", "model.bst"),
    }
    for path in paths.values():
        os.makedirs(os.path.dirname(path), exist_ok=True)

    sk = LogisticRegression(max_iter=500).fit(x, y)
    joblib.dump(sk, paths["sklearn"])

    xg = xgb.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, random_state=0)
    xg.fit(x, y)
    xg.save_model(paths["xgboost"])

    lg = lgb.LGBMClassifier(
        n_estimators=10, num_leaves=7, n_jobs=1, random_state=0,
        deterministic=True, verbose=-1,
    )
    lg.fit(x, y)
    lg.booster_.save_model(paths["lightgbm"])

    # Reload as MLServer does: joblib, XGBoost's sklearn interface, a LightGBM Booster.
    predictions = {
        "sklearn": joblib.load(paths["sklearn"]).predict(CHECK_ROWS),
        "xgboost": load_xgboost(paths["xgboost"]).predict(CHECK_ROWS),
        "lightgbm": lgb.Booster(model_file=paths["lightgbm"]).predict(CHECK_ROWS),
    }
    implementations = {
        "sklearn": "mlserver_sklearn.SKLearnModel",
        "xgboost": "mlserver_xgboost.XGBoostModel",
        "lightgbm": "mlserver_lightgbm.LightGBMModel",
    }
    request_input = {
        "name": INPUT_NAME,
        "datatype": "FP32",
        "shape": list(CHECK_ROWS.shape),
        "data": CHECK_ROWS.flatten().tolist(),
    }
    result = {
        kind: {
            "implementation": implementations[kind],
            "uri": paths[kind],
            "inputs": [request_input],
            "outputs": [v2_output("predict", predictions[kind])],
        }
        for kind in paths
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
