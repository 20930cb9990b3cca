#!/usr/bin/env bash
# Kept for old instructions: every demo model is re-imported by scripts/import-demo-models.sh.
exec "$(dirname "$0")/import-demo-models.sh" "$@"
