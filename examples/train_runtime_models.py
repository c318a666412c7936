#!/usr/bin/env python3
"""Trains the demo's models for MLServer: a scikit-learn classifier (a joblib pickle) and an
XGBoost classifier (its JSON format), both on the iris data that ships with scikit-learn.

Usage: train_runtime_models.py OUTDIR  (writes OUTDIR/iris-sklearn/model.joblib and
OUTDIR/iris-xgboost/model.json; trained here rather than committed, since pickles are tied to
the scikit-learn version that reads them)
"""
import os
import sys

import joblib
import xgboost
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main(out):
    features, labels = load_iris(return_X_y=True)
    os.makedirs(os.path.join(out, "iris-sklearn"), exist_ok=True)
    os.makedirs(os.path.join(out, "iris-xgboost"), exist_ok=True)
    sklearn_model = LogisticRegression(max_iter=1000).fit(features, labels)
    joblib.dump(sklearn_model, os.path.join(out, "iris-sklearn", "model.joblib"))
    xgboost_model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(features, labels)
    xgboost_model.save_model(os.path.join(out, "iris-xgboost", "model.json"))
    print("  %s/iris-sklearn/model.joblib\n  %s/iris-xgboost/model.json" % (out, out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
