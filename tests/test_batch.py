"""Daily batches on Ray: every call stored once, bad files stored as failed, reruns exact after a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.audio import load_recording
from engine.config import load_config
from engine.store import Store
from tests.audio_factory import write_audio
from tests.pg import PostgresUnavailable, running_postgres

pytestmark = pytest.mark.slow
CALLQA = [sys.executable, "-m", "engine.cli.main"]


def _day_folder(shared_data: Path, root: Path) -> Path:
    """Distinct real calls cut from the shared telephone call, copies under new names, and bad files."""
    day = root / "day"
    day.mkdir()
    call = load_recording(shared_data / "calls" / "telephone_2spk.wav").samples[0]
    for n, start in enumerate((6, 10, 14, 18, 22)):
        write_audio(day / f"call{n}.wav", call[start * 16000:(start + 6) * 16000], 16000)
    (day / "call0_copy.wav").write_bytes((day / "call0.wav").read_bytes())
    (day / "stereo.wav").write_bytes((shared_data / "calls" / "stereo_2spk.wav").read_bytes())
    (day / "empty.wav").touch()
    (day / "corrupt.mp3").write_bytes(b"ID3" + os.urandom(3000))
    write_audio(day / "silent.wav", np.zeros(16000 * 4, np.float32), 16000)
    return day


def _batch(day: Path, db: Path | str, *extra: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return subprocess.run([*CALLQA, "batch", str(day), "--db", url, "--workers", "1", *extra],
                          capture_output=True, text=True, timeout=600, cwd=cwd or Path(str(db)).parent)


def _rows(db: Path | str) -> dict[str, list[dict]]:
    """The store's rows, with run-dependent fields (stage timings) taken out of the analysis JSON."""
    with Store.open(db if isinstance(db, str) else f"sqlite:///{db}") as store:
        dump = store.dump()
    for row in dump["analyses"]:
        analysis = json.loads(row.pop("analysis_json"))
        analysis.pop("timings")
        row["analysis"] = analysis
    for row in dump["calls"]:
        row.pop("attempts", None)
    return dump


@pytest.fixture(scope="module")
def day(shared_data, tmp_path_factory) -> Path:
    return _day_folder(shared_data, tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="module")
def clean_run(day, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("clean") / "clean.db"
    result = _batch(day, db)
    assert result.returncode == 0, result.stderr
    return db


def test_every_good_call_is_stored_once_and_every_bad_one_as_failed_with_its_reason(clean_run):
    with Store.open(f"sqlite:///{clean_run}") as store:
        calls = {c.call_id: c for c in store.calls()}
        config_hash = load_config().hash()
        assert len(store.done_hashes(config_hash)) == 6  # five cuts + the stereo call; the copy is the same bytes
    assert sorted(k for k, c in calls.items() if c.status == "done") == [
        "call0", "call1", "call2", "call3", "call4", "stereo"]
    failures = {k: c.failure_reason for k, c in calls.items() if c.status == "failed"}
    assert failures == {"empty": "empty", "corrupt": "not_audio", "silent": "silent"}


def test_a_second_run_analyses_nothing(day, clean_run):
    before = _rows(clean_run)
    result = _batch(day, clean_run)
    assert result.returncode == 0, result.stderr
    assert "analysed now               │ 0" in result.stdout.replace("┃", "│")
    assert "new voice-case candidates  │ 0" in result.stdout.replace("┃", "│")  # promoted once, by the first run
    assert _rows(clean_run) == before


def test_a_batch_killed_midway_and_rerun_ends_with_the_same_rows(day, clean_run, tmp_path):
    db = tmp_path / "killed.db"
    process = subprocess.Popen([*CALLQA, "batch", str(day), "--db", f"sqlite:///{db}", "--workers", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               cwd=tmp_path)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if db.exists():
                with Store.open(f"sqlite:///{db}") as store:
                    done = [c for c in store.calls() if c.status == "done"]
                if done:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the batch stored nothing within 300 s")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with Store.open(f"sqlite:///{db}") as store:
        assert len([c for c in store.calls() if c.status == "done"]) < 6, "killed too late to test a resume"
    rerun = _batch(day, db)
    assert rerun.returncode == 0, rerun.stderr
    assert _rows(db) == _rows(clean_run)


def test_the_same_batch_against_postgresql_gives_the_same_rows_as_sqlite(day, clean_run, tmp_path):
    try:
        with running_postgres() as server:
            url = server.create_database()
            result = _batch(day, url, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            assert _rows(url) == _rows(clean_run)
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(f"no PostgreSQL server here: {exc}")
