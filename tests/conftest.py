"""Shared fixtures: the evaluation data beside the project, and small audio built in the test."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"evaluation data not found at {SHARED_DATA} (it sits beside the project on dev machines and CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def app_config():
    from engine.config import load_config

    return load_config()


@pytest.fixture(scope="session")
def engine(app_config):
    from engine.pipeline import Engine

    return Engine(app_config)
