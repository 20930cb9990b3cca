#!/usr/bin/env python3
"""Train the scikit-learn models Verdict's importer is tested on, and export them to ONNX.

Every model is one users commonly bring: linear and logistic models (with the
StandardScaler pipeline skl2onnx turns into a `Scaler`), MLPs with tanh and logistic
activations, regressors, and tree ensembles (scikit-learn's through skl2onnx, XGBoost's
and LightGBM's through onnxmltools: `TreeEnsembleClassifier`/`Regressor`). All data ships inside scikit-learn's wheel
(no downloads): breast_cancer (569 rows, 30 features, binary), wine (178 rows,
13 features, 3 classes), diabetes (442 rows, 10 features, a real-valued target).

Outputs (relative to --out, normally the repository root)
--------------------------------------------------------
  models/sklearn/<name>.onnx      the exported graphs (skl2onnx, zipmap=False)
  models/sklearn/reference.json   onnxruntime's test accuracy / r2 per model, versions
  data/<set>/{calibration,test}.csv
      CSV as everywhere in Verdict: the float features, then the target (an integer
      class label, or the real-valued target for diabetes), no header.

Rerun from the repository root:

    python3 -m venv /tmp/sk-venv
    /tmp/sk-venv/bin/pip install -r scripts/sklearn/requirements.txt
    /tmp/sk-venv/bin/python scripts/sklearn/train.py --out .

Everything is seeded, so the files are reproduced with the pinned versions.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import lightgbm
import onnxmltools
import sklearn
import skl2onnx
import xgboost
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 0
CALIBRATION_ROWS = 128


def write_csv(path, x, y, integer_labels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for row, target in zip(x, y):
            label = str(int(target)) if integer_labels else repr(float(target))
            f.write(",".join(repr(float(v)) for v in row) + "," + label + "\n")


def split(x, y, stratify):
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=SEED, stratify=y if stratify else None
    )
    rng = np.random.default_rng(SEED)
    pick = rng.choice(len(x_train), size=min(CALIBRATION_ROWS, len(x_train)), replace=False)
    return x_train, x_test, y_train, y_test, x_train[np.sort(pick)], y_train[np.sort(pick)]


def _bool_safe_make_attribute(make_attribute):
    """skl2onnx 1.20 writes HistGradientBoosting's `nodes_missing_value_tracks_true` as
    numpy booleans, which onnx 1.23 refuses for an INTS attribute; as 0/1 they are what
    the ONNX-ML spec means."""

    def wrapped(key, value, *args, **kwargs):
        if isinstance(value, (list, tuple, np.ndarray)) and any(
                isinstance(v, (bool, np.bool_)) for v in value):
            value = [int(v) for v in value]
        return make_attribute(key, value, *args, **kwargs)

    return wrapped


onnx.helper.make_attribute = _bool_safe_make_attribute(onnx.helper.make_attribute)


def export(model, features, path, name):
    inputs = [("input", FloatTensorType([None, features]))]
    if isinstance(model, (xgboost.XGBModel, lightgbm.LGBMModel)):
        # onnxmltools, as XGBoost and LightGBM users export (ai.onnx.ml TreeEnsemble*).
        convert = (onnxmltools.convert_xgboost if isinstance(model, xgboost.XGBModel)
                   else onnxmltools.convert_lightgbm)
        from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
        kwargs = {"zipmap": False} if isinstance(model, lightgbm.LGBMClassifier) else {}
        onx = convert(model, name=name, initial_types=[("input", MlFloat([None, features]))],
                      target_opset=15, **kwargs)
    else:
        onx = convert_sklearn(
            model,
            name,
            inputs,
            target_opset={"": 15, "ai.onnx.ml": 3},
            options={id(model): {"zipmap": False}} if hasattr(model, "classes_") else None,
        )
    onnx.checker.check_model(onx)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    sets = {}
    x, y = load_breast_cancer(return_X_y=True)
    sets["breast-cancer"] = (split(x.astype(np.float32), y, True), True)
    x, y = load_wine(return_X_y=True)
    sets["wine"] = (split(x.astype(np.float32), y, True), True)
    x, y = load_diabetes(return_X_y=True)
    sets["diabetes"] = (split(x.astype(np.float32), y, False), False)
    for set_name, ((_, x_test, _, y_test, x_cal, y_cal), integer) in sets.items():
        base = os.path.join(args.out, "data", set_name)
        write_csv(os.path.join(base, "test.csv"), x_test, y_test, integer)
        write_csv(os.path.join(base, "calibration.csv"), x_cal, y_cal, integer)

    models = {
        # Logistic regression, binary, behind a StandardScaler (skl2onnx: Scaler + LinearClassifier).
        "breast-cancer-logistic": ("breast-cancer", make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED))),
        # Multi-class logistic regression (softmax post-transform), no scaler.
        "wine-logistic": ("wine", LogisticRegression(max_iter=5000, random_state=SEED)),
        # MLPs with the activations sklearn offers besides ReLU.
        "breast-cancer-mlp-tanh": ("breast-cancer", make_pipeline(
            StandardScaler(), MLPClassifier(hidden_layer_sizes=(32, 16), activation="tanh", max_iter=600,
                                            random_state=SEED))),
        "wine-mlp-logistic": ("wine", make_pipeline(
            StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), activation="logistic", max_iter=2000,
                                            random_state=SEED))),
        # Regressors on diabetes: LinearRegressor, Ridge behind a scaler, an MLP.
        "diabetes-linear": ("diabetes", LinearRegression()),
        "diabetes-ridge": ("diabetes", make_pipeline(StandardScaler(), Ridge(alpha=1.0))),
        "diabetes-mlp": ("diabetes", make_pipeline(
            StandardScaler(), MLPRegressor(hidden_layer_sizes=(32,), activation="relu", max_iter=3000,
                                           learning_rate_init=0.01, random_state=SEED))),
        # Tree ensembles: every aggregation and exporter users meet.
        "breast-cancer-gbt": ("breast-cancer", GradientBoostingClassifier(
            n_estimators=100, max_depth=3, random_state=SEED)),
        "breast-cancer-forest": ("breast-cancer", RandomForestClassifier(
            n_estimators=50, max_depth=8, random_state=SEED)),
        "breast-cancer-xgboost": ("breast-cancer", xgboost.XGBClassifier(
            n_estimators=60, max_depth=4, random_state=SEED, n_jobs=1)),
        "wine-decision-tree": ("wine", DecisionTreeClassifier(max_depth=6, random_state=SEED)),
        "wine-extra-trees": ("wine", ExtraTreesClassifier(
            n_estimators=40, max_depth=6, random_state=SEED)),
        # HistGradientBoosting (binned thresholds, missing-value tracking; see
        # _bool_safe_make_attribute for the skl2onnx workaround).
        "breast-cancer-hgb": ("breast-cancer", HistGradientBoostingClassifier(
            max_iter=80, max_depth=4, random_state=SEED)),
        "diabetes-hgb": ("diabetes", HistGradientBoostingRegressor(
            max_iter=80, max_depth=3, learning_rate=0.05, random_state=SEED)),
        "diabetes-forest": ("diabetes", RandomForestRegressor(
            n_estimators=40, max_depth=6, random_state=SEED)),
        "diabetes-gbt": ("diabetes", GradientBoostingRegressor(
            n_estimators=100, max_depth=3, random_state=SEED)),
        "diabetes-lightgbm": ("diabetes", lightgbm.LGBMRegressor(
            n_estimators=60, num_leaves=15, random_state=SEED, n_jobs=1, verbose=-1)),
    }
    reference = {"versions": {"sklearn": sklearn.__version__, "skl2onnx": skl2onnx.__version__,
                              "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                              "xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__,
                              "onnxmltools": onnxmltools.__version__},
                 "seed": SEED, "models": {}}
    for name, (set_name, model) in models.items():
        (x_train, x_test, y_train, y_test, _, _), integer = sets[set_name]
        model.fit(x_train, y_train)
        path = export(model, x_train.shape[1],
                      os.path.join(args.out, "models", "sklearn", name + ".onnx"),
                      name.replace("-", "_"))
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        out = session.run(None, {"input": x_test})[0]
        if integer:
            score = {"accuracy": float(np.mean(out.reshape(-1) == y_test))}
        else:
            score = {"r2": float(r2_score(y_test, out.reshape(-1)))}
        ops = [n.op_type for n in onnx.load(path).graph.node]
        reference["models"][name] = {"dataset": set_name, "ops": ops, **score}
        print(f"{name:26} {set_name:14} {score}  {ops}")
    with open(os.path.join(args.out, "models", "sklearn", "reference.json"), "w") as f:
        json.dump(reference, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
