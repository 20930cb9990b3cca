#!/usr/bin/env python3
"""Train two small digit classifiers for Verdict and export them to ONNX.

What this does
--------------
1. Loads scikit-learn's bundled copy of the UCI "Optical Recognition of
   Handwritten Digits" data (``sklearn.datasets.load_digits``: 1797 rows,
   64 features = an 8x8 image with integer pixels 0..16, label 0..9) and
   scales the features to [0, 1] by dividing by 16.0 (so every value is an
   exact k/16).
2. Splits it with a fixed seed: 540 test rows (stratified by label), the
   remaining 1257 rows are the train split. 256 calibration rows are drawn
   (seeded, without replacement) from the train split; they are a subset of
   train, not removed from it.
3. Trains
   * an sklearn MLPClassifier (64 -> 64 -> 32 -> 10, ReLU) and exports it
     with skl2onnx (opset 15, ai.onnx.ml 3, no ZipMap), and
   * a tiny PyTorch CNN on [N, 1, 8, 8] inputs
     (Conv 1->8 3x3 pad 1, ReLU, MaxPool 2, Conv 8->16 3x3 pad 1, ReLU,
     AvgPool 2, Flatten, Linear 64->32, ReLU, Linear 32->10) with Adam,
     exported with the classic TorchScript ONNX exporter (opset 17).
4. Checks both ONNX files with ``onnx.checker``, prints every node, runs them
   with onnxruntime on the test split and records the accuracies.

Outputs (paths relative to --out, normally the repository root)
---------------------------------------------------------------
  models/digits/digits-mlp.onnx
  models/digits/digits-cnn.onnx
  models/digits/reference.json     onnxruntime accuracies, first-20 test
                                   predictions, CNN logits of first 5 test
                                   rows, library versions, seeds
  data/digits/train.csv            1257 rows
  data/digits/test.csv             540 rows
  data/digits/calibration.csv      256 rows (subset of train)
  examples/inputs/test-row-{0,1,2}.json   64 features of test rows 0..2

CSV format: one example per line, the 64 float features in row-major pixel
order written with Python's shortest round-trip repr (e.g. ``0.5625``), then
the integer label as the last column; no header; ``\\n`` line endings.

How to rerun
------------
From the repository root:

    python3 -m venv /tmp/digits-venv
    /tmp/digits-venv/bin/pip install -r scripts/digits/requirements.txt
    /tmp/digits-venv/bin/python scripts/digits/train.py --out .

Everything is seeded and single-threaded, so the CSVs and reference.json are
reproduced byte for byte with the pinned versions.
"""

import os

# Single-threaded BLAS/OpenMP: keeps CPU use low and results reproducible.
# Must be set before numpy / torch are imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import random
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
import skl2onnx
import torch
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from torch import nn

SPLIT_SEED = 0        # train_test_split random_state
CALIB_SEED = 1        # numpy Generator for the calibration draw
MLP_SEED = 0          # MLPClassifier random_state
TORCH_SEED = 0        # torch / python random seed for the CNN
TEST_ROWS = 540
CALIB_ROWS = 256
CNN_EPOCHS = 50
CNN_BATCH = 32
CNN_LR = 3e-3


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def load_split():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float64)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_ROWS, stratify=y, random_state=SPLIT_SEED
    )
    rng = np.random.default_rng(CALIB_SEED)
    calib_idx = np.sort(rng.choice(len(x_train), size=CALIB_ROWS, replace=False))
    return x_train, y_train, x_test, y_test, x_train[calib_idx], y_train[calib_idx]


def write_csv(path, x, y):
    lines = []
    for row, label in zip(x, y):
        feats = ",".join(repr(float(v)) for v in row)
        lines.append(f"{feats},{int(label)}\n")
    with open(path, "w", newline="\n") as f:
        f.write("".join(lines))


def train_mlp(x_train, y_train):
    clf = MLPClassifier(
        hidden_layer_sizes=(64, 32), activation="relu", max_iter=400, random_state=MLP_SEED
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train.astype(np.float32), y_train)
    return clf


def export_mlp(clf, path):
    onx = convert_sklearn(
        clf,
        initial_types=[("input", FloatTensorType([None, 64]))],
        target_opset={"": 15, "ai.onnx.ml": 3},
        options={id(clf): {"zipmap": False}},
        # Fixed graph name: skl2onnx otherwise uses a random uuid4 hex string,
        # which makes the file bytes differ from run to run.
        name="digits_mlp",
    )
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.net(x)


def to_images(x):
    return torch.from_numpy(x.astype(np.float32).reshape(-1, 1, 8, 8))


def train_cnn(x_train, y_train):
    seed_everything(TORCH_SEED)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=CNN_LR)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = to_images(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(TORCH_SEED)
    model.train()
    for epoch in range(CNN_EPOCHS):
        perm = torch.randperm(len(xs), generator=gen)
        total = 0.0
        for i in range(0, len(xs), CNN_BATCH):
            idx = perm[i : i + CNN_BATCH]
            opt.zero_grad()
            loss = loss_fn(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 10 == 9 or epoch == CNN_EPOCHS - 1:
            print(f"  cnn epoch {epoch + 1:3d}  train loss {total / len(xs):.4f}")
    model.eval()
    return model


def export_cnn(model, path):
    dummy = torch.zeros(1, 1, 8, 8, dtype=torch.float32)
    with warnings.catch_warnings():
        # dynamo=False selects the classic TorchScript exporter on purpose; it
        # yields plain Conv/Relu/MaxPool/AveragePool/Flatten/Gemm nodes.
        warnings.simplefilter("ignore", DeprecationWarning)
        _export_cnn(model, dummy, path)


def _export_cnn(model, dummy, path):
    torch.onnx.export(
        model,
        (dummy,),
        path,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        do_constant_folding=True,
        dynamo=False,
    )


def fmt_attr(a):
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        v = v.decode()
    elif isinstance(v, list):
        v = [x.decode() if isinstance(x, bytes) else x for x in v]
    elif isinstance(v, onnx.TensorProto):
        arr = onnx.numpy_helper.to_array(v)
        v = f"tensor({onnx.TensorProto.DataType.Name(v.data_type)}, shape={list(arr.shape)}, value={arr.tolist()})"
    return f"{a.name}={v}"


def describe(path):
    """Check an ONNX file and print its full structure compactly."""
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    g = m.graph

    def vi(v):
        t = v.type.tensor_type
        dims = ([d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value") else "?"
                 for d in t.shape.dim] if t.HasField("shape") else None)
        return f"{v.name}: {onnx.TensorProto.DataType.Name(t.elem_type)} {dims}"

    print(f"== {os.path.basename(path)}  ({os.path.getsize(path)} bytes)")
    print(f"   ir_version={m.ir_version} producer={m.producer_name} {m.producer_version} "
          f"opsets={[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}")
    for v in g.input:
        print(f"   input   {vi(v)}")
    for v in g.output:
        print(f"   output  {vi(v)}")
    for t in g.initializer:
        print(f"   init    {t.name}: {onnx.TensorProto.DataType.Name(t.data_type)} {list(t.dims)}")
    for n in g.node:
        dom = f"{n.domain}:" if n.domain else ""
        attrs = ", ".join(fmt_attr(a) for a in n.attribute)
        print(f"   node    [{n.name}] {dom}{n.op_type}({', '.join(n.input)}) -> "
              f"({', '.join(n.output)}){'  {' + attrs + '}' if attrs else ''}")
    ops = [(n.domain + ":" if n.domain else "") + n.op_type for n in g.node]
    print(f"   op types in order: {ops}")
    return ops


def ort_run(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess, sess.run(None, {name: x})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=".", help="output root (normally the repo root)")
    args = ap.parse_args()
    out = args.out
    models_dir = os.path.join(out, "models", "digits")
    data_dir = os.path.join(out, "data", "digits")
    ex_dir = os.path.join(out, "examples", "inputs")
    for d in (models_dir, data_dir, ex_dir):
        os.makedirs(d, exist_ok=True)

    seed_everything(TORCH_SEED)
    x_train, y_train, x_test, y_test, x_cal, y_cal = load_split()
    print(f"train={len(x_train)} test={len(x_test)} calibration={len(x_cal)}")
    write_csv(os.path.join(data_dir, "train.csv"), x_train, y_train)
    write_csv(os.path.join(data_dir, "test.csv"), x_test, y_test)
    write_csv(os.path.join(data_dir, "calibration.csv"), x_cal, y_cal)
    for i in range(3):
        with open(os.path.join(ex_dir, f"test-row-{i}.json"), "w", newline="\n") as f:
            f.write("[" + ", ".join(repr(float(v)) for v in x_test[i]) + "]\n")
        print(f"example test-row-{i}.json label={int(y_test[i])}")

    x_test32 = x_test.astype(np.float32)

    # --- MLP ---
    print("training MLP ...")
    clf = train_mlp(x_train, y_train)
    print(f"  sklearn MLP test accuracy {clf.score(x_test32, y_test):.4f} (n_iter={clf.n_iter_})")
    mlp_path = os.path.join(models_dir, "digits-mlp.onnx")
    export_mlp(clf, mlp_path)
    mlp_ops = describe(mlp_path)
    sess, (mlp_label, mlp_prob) = ort_run(mlp_path, x_test32)
    print(f"  onnxruntime outputs: {[o.name for o in sess.get_outputs()]}")
    mlp_acc = float(np.mean(mlp_label.reshape(-1) == y_test))
    assert np.array_equal(mlp_label.reshape(-1), np.argmax(mlp_prob, axis=1))
    print(f"  onnxruntime MLP test accuracy {mlp_acc:.4f}")

    # --- CNN ---
    print("training CNN ...")
    model = train_cnn(x_train, y_train)
    with torch.no_grad():
        torch_logits = model(to_images(x_test)).numpy()
    print(f"  torch CNN test accuracy {np.mean(torch_logits.argmax(1) == y_test):.4f}")
    cnn_path = os.path.join(models_dir, "digits-cnn.onnx")
    export_cnn(model, cnn_path)
    cnn_ops = describe(cnn_path)
    forbidden = {"Shape", "Gather", "Concat", "Unsqueeze", "Constant"}
    assert not forbidden & set(cnn_ops), f"unexpected ops in CNN graph: {cnn_ops}"
    _, (cnn_logits,) = ort_run(cnn_path, x_test32.reshape(-1, 1, 8, 8))
    cnn_pred = cnn_logits.argmax(axis=1)
    cnn_acc = float(np.mean(cnn_pred == y_test))
    print(f"  onnxruntime CNN test accuracy {cnn_acc:.4f} "
          f"(max |ort - torch| = {np.abs(cnn_logits - torch_logits).max():.2e})")

    reference = {
        "dataset": {
            "source": "sklearn.datasets.load_digits (UCI Optical Recognition of Handwritten Digits)",
            "scaling": "features / 16.0",
            "train_rows": int(len(x_train)),
            "test_rows": int(len(x_test)),
            "calibration_rows": int(len(x_cal)),
            "test_labels_first_20": [int(v) for v in y_test[:20]],
        },
        "seeds": {
            "split_random_state": SPLIT_SEED,
            "calibration_numpy_default_rng": CALIB_SEED,
            "mlp_random_state": MLP_SEED,
            "torch_manual_seed": TORCH_SEED,
        },
        "models": {
            "digits-mlp.onnx": {
                "input": "input float32 [N, 64]",
                "outputs": [o.name for o in sess.get_outputs()],
                "op_types": mlp_ops,
                "onnxruntime_test_accuracy": mlp_acc,
                "onnxruntime_test_correct": int(np.sum(mlp_label.reshape(-1) == y_test)),
                "predicted_labels_first_20": [int(v) for v in mlp_label.reshape(-1)[:20]],
                "probabilities_first_5": [[float(v) for v in r] for r in mlp_prob[:5]],
            },
            "digits-cnn.onnx": {
                "input": "input float32 [N, 1, 8, 8]",
                "outputs": ["logits"],
                "op_types": cnn_ops,
                "onnxruntime_test_accuracy": cnn_acc,
                "onnxruntime_test_correct": int(np.sum(cnn_pred == y_test)),
                "predicted_labels_first_20": [int(v) for v in cnn_pred[:20]],
                "logits_first_5": [[float(v) for v in r] for r in cnn_logits[:5]],
                "training": {"optimizer": "Adam", "lr": CNN_LR, "epochs": CNN_EPOCHS,
                             "batch_size": CNN_BATCH},
            },
        },
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "torch": torch.__version__,
        },
    }
    with open(os.path.join(models_dir, "reference.json"), "w", newline="\n") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")
    print("done")


if __name__ == "__main__":
    main()
