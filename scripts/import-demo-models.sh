#!/usr/bin/env bash
# Re-imports the committed ONNX demo models into the Verdict model files the devnet
# serves: models/digits/digits-{mlp,cnn}.vdm, models/sklearn/{diabetes-ridge,breast-cancer-gbt}.vdm
# and models/timeseries/co2-tcn.vdm.
# node/import/tests/integration/import_{digits,sklearn,timeseries}.rs fail when they are stale.
#
#   scripts/import-demo-models.sh       # after changing the importer or the models
set -euo pipefail
cd "$(dirname "$0")/.."
import() { # onnx dataset-dir name output
    cargo run --quiet -p verdict-cli -- model import "$1" \
        --calibration "$2/calibration.csv" \
        --test "$2/test.csv" \
        --name "$3" \
        -o "$4"
    echo
}
for name in digits-mlp digits-cnn; do
    import "models/digits/$name.onnx" data/digits "$name" "models/digits/$name.vdm"
done
import models/sklearn/diabetes-ridge.onnx data/diabetes diabetes-ridge models/sklearn/diabetes-ridge.vdm
import models/sklearn/breast-cancer-gbt.onnx data/breast-cancer breast-cancer-gbt models/sklearn/breast-cancer-gbt.vdm
import models/timeseries/co2-tcn.onnx data/co2 co2-tcn models/timeseries/co2-tcn.vdm
