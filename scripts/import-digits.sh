#!/usr/bin/env bash
# Re-imports the digits ONNX models into the committed Verdict model files
# (models/digits/*.vdm). node/import/tests/integration/import_digits.rs fails when they are stale.
#
#   scripts/import-digits.sh            # after changing the importer or the models
set -euo pipefail
cd "$(dirname "$0")/.."
for name in digits-mlp digits-cnn; do
    cargo run --quiet -p verdict-cli -- model import "models/digits/$name.onnx" \
        --calibration data/digits/calibration.csv \
        --test data/digits/test.csv \
        --name "$name" \
        -o "models/digits/$name.vdm"
    echo
done
