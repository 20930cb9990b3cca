"""Trains the co2 TCN forecaster and exports it with torch.onnx, as a user would.

Data: statsmodels' weekly Mauna Loa CO2 series (ships inside the statsmodels wheel; no
download). Gaps are filled by linear interpolation. The model reads weekly changes, not
levels (the test years lie above every level seen in training, the changes do not): a
window of WINDOW changes, divided by the training split's spread of changes, predicts
the next change in the same units; the forecast level is the last level plus it.

The network: dilated causal Conv1d blocks (BatchNorm, SiLU, residual), attention pooling
over time (a softmax over the time steps weights the hidden states, summed), the last
time step beside it, and a linear head. Seeded: the same files on every run with the
same torch build.

Writes (relative to --out, default the repository root):
  models/timeseries/co2-tcn.onnx
  data/co2/calibration.csv, data/co2/test.csv   (WINDOW features, then the target)
  models/timeseries/reference.json             (float MAE from onnxruntime, test rows)
"""

import argparse
import json
import os

import numpy as np
import onnxruntime as ort
import statsmodels.api as sm
import torch
from torch import nn

WINDOW = 32
SEED = 7


class Chomp(nn.Module):
    """Drops the last `n` time steps: what makes a symmetric-padded conv causal."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x[:, :, : -self.n]


class Block(nn.Module):
    def __init__(self, cin, cout, dilation, kernel=3):
        super().__init__()
        pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(cin, cout, kernel, padding=pad, dilation=dilation)
        self.chomp = Chomp(pad)
        self.bn = nn.BatchNorm1d(cout)
        self.act = nn.SiLU()
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        y = self.act(self.bn(self.chomp(self.conv(x))))
        return y + (x if self.skip is None else self.skip(x))


class Tcn(nn.Module):
    def __init__(self, channels=16):
        super().__init__()
        self.blocks = nn.Sequential(
            Block(1, channels, 1), Block(channels, channels, 2), Block(channels, channels, 4)
        )
        self.attention = nn.Linear(channels, 1)
        self.head = nn.Linear(2 * channels, 1)

    def forward(self, x):  # x: [N, T, 1]
        h = self.blocks(x.transpose(1, 2)).transpose(1, 2)  # [N, T, C]
        weights = torch.softmax(self.attention(h), dim=1)  # [N, T, 1]
        pooled = (h * weights).sum(dim=1)  # [N, C]
        last = h[:, -1, :]  # [N, C]
        return self.head(torch.cat([pooled, last], dim=1))  # [N, 1]


def windows(series):
    x = np.stack([series[i : i + WINDOW] for i in range(len(series) - WINDOW)])
    y = series[WINDOW:]
    return x.astype(np.float32), y.astype(np.float32)


def write_csv(path, x, y):
    with open(path, "w") as f:
        for row, target in zip(x, y):
            f.write(",".join(f"{v:.6f}" for v in row) + f",{target:.6f}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="repository root to write into")
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    torch.manual_seed(SEED)
    np.random.seed(SEED)

    co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy()
    changes = np.diff(co2)
    split = int(len(changes) * 0.8)
    mean, spread = 0.0, changes[:split].std()
    scaled = changes / spread
    x_train, y_train = windows(scaled[:split])
    x_test, y_test = windows(scaled[split - WINDOW :])

    model = Tcn()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt = torch.from_numpy(x_train)[:, :, None]
    yt = torch.from_numpy(y_train)[:, None]
    for epoch in range(args.epochs):
        perm = torch.randperm(len(xt))
        model.train()
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()

    os.makedirs(os.path.join(args.out, "models/timeseries"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "data/co2"), exist_ok=True)
    onnx_path = os.path.join(args.out, "models/timeseries/co2-tcn.onnx")
    torch.onnx.export(
        model,
        (torch.from_numpy(x_test[:2])[:, :, None],),
        onnx_path,
        input_names=["window"],
        output_names=["next"],
        dynamic_axes={"window": {0: "batch"}, "next": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )

    rng = np.random.default_rng(SEED)
    calibration = rng.choice(len(x_train), 256, replace=False)
    write_csv(os.path.join(args.out, "data/co2/calibration.csv"), x_train[calibration], y_train[calibration])
    write_csv(os.path.join(args.out, "data/co2/test.csv"), x_test, y_test)

    session = ort.InferenceSession(onnx_path)
    predicted = session.run(None, {"window": x_test[:, :, None]})[0][:, 0]
    mae = float(np.abs(predicted - y_test).mean())
    naive_zero = float(np.abs(y_test).mean())
    naive_last = float(np.abs(x_test[:, -1] - y_test).mean())
    reference = {
        "co2-tcn": {
            "window": WINDOW,
            "test_rows": len(y_test),
            "float_mae": mae,
            "float_mae_ppm": mae * spread,
            "no_change_mae": naive_zero,
            "last_change_mae": naive_last,
            "scale": {"mean": float(mean), "spread_ppm_per_week": float(spread)},
            "torch": torch.__version__,
        }
    }
    with open(os.path.join(args.out, "models/timeseries/reference.json"), "w") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")
    print(json.dumps(reference, indent=2))


if __name__ == "__main__":
    main()
