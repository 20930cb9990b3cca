#!/usr/bin/env bash
# Installs the system packages the build needs, when they are missing. Idempotent;
# run by .ci/run (and safe to run by hand). Needs root (or sudo) only when something
# is actually missing.
set -euo pipefail

missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
# The contract toolchain (forge, anvil, solc) comes from npm: scripts/contracts.sh.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
echo "system packages: ok"
