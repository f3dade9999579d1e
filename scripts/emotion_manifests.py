"""Build emotion-clip manifests (CSV: path, speaker, label, language, corpus) for the acted corpora.

Labels are written in the engine's vocabulary: neutral, calm, happy, sad, angry, fear, disgust,
surprise. Mapping them to what a head predicts (calm folded into neutral, disgust left out) is the
fitting script's business, not the manifest's.

    .venv/bin/python scripts/emotion_manifests.py ravdess ../shared/data/emotion/ravdess_dev -o ravdess.csv
    .venv/bin/python scripts/emotion_manifests.py casia ../shared/data/emotion/casia_dev -o casia.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from pathlib import Path

FIELDS = ("path", "speaker", "label", "language", "corpus", "intensity")

# RAVDESS file names: MM-VC-EE-II-SS-RR-AA; EE the emotion, II the intensity, AA the actor.
RAVDESS_EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fear", "07": "disgust", "08": "surprise",
}
CASIA_EMOTIONS = {"angry": "angry", "fear": "fear", "happy": "happy", "neutral": "neutral",
                  "sad": "sad", "surprise": "surprise"}


def ravdess_rows(folder: Path) -> list[dict[str, str]]:
    """One row per RAVDESS clip; the speaker is ``ravdess-AA``."""
    rows = []
    for path in sorted(folder.glob("*.flac")) + sorted(folder.glob("*.wav")):
        parts = path.stem.split("-")
        if len(parts) != 7 or parts[2] not in RAVDESS_EMOTIONS:
            raise ValueError(f"{path}: not a RAVDESS name (MM-VC-EE-II-SS-RR-AA)")
        rows.append({
            "path": str(path.resolve()), "speaker": f"ravdess-{parts[6]}", "label": RAVDESS_EMOTIONS[parts[2]],
            "language": "en", "corpus": "ravdess", "intensity": "strong" if parts[3] == "02" else "normal",
        })
    return rows


def casia_rows(folder: Path) -> list[dict[str, str]]:
    """One row per CASIA clip named ``<speaker>-<emotion>-<sentence>``; the speaker is ``casia-<speaker>``."""
    rows = []
    for path in sorted(folder.glob("*.flac")) + sorted(folder.glob("*.wav")):
        parts = path.stem.split("-")
        if len(parts) != 3 or parts[1] not in CASIA_EMOTIONS:
            raise ValueError(f"{path}: not a CASIA name (<speaker>-<emotion>-<sentence>)")
        rows.append({
            "path": str(path.resolve()), "speaker": f"casia-{parts[0]}", "label": CASIA_EMOTIONS[parts[1]],
            "language": "zh", "corpus": "casia", "intensity": "",
        })
    return rows


BUILDERS = {"ravdess": ravdess_rows, "casia": casia_rows}


def write_manifest(rows: Iterable[dict[str, str]], out: Path | None) -> None:
    handle = open(out, "w", newline="") if out else sys.stdout  # noqa: SIM115 - stdout is not ours to close
    try:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if out:
            handle.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", choices=sorted(BUILDERS))
    parser.add_argument("folder", type=Path)
    parser.add_argument("-o", "--out", type=Path, help="CSV to write (default: stdout)")
    args = parser.parse_args(argv)
    rows = BUILDERS[args.corpus](args.folder)
    if not rows:
        parser.error(f"no clips found in {args.folder}")
    write_manifest(rows, args.out)
    if args.out:
        print(f"{len(rows)} clips -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
