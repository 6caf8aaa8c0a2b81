"""Shared fixtures: where the real data lives, and small twins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path:
    override = os.environ.get("AUTOSCOPE_DATA")
    return Path(override) if override else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder (``$AUTOSCOPE_DATA`` or ``../shared/data``).

    Missing data skips the test on a developer's machine but fails under CI.
    """
    root = _data_root()
    if not (root / "MANIFEST.md").exists():
        message = f"real data not found at {root} (set AUTOSCOPE_DATA)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture(scope="session")
def beps_path(data_dir: Path) -> Path:
    return data_dir / "beps_pto_hysteresis" / "BEPS_PTO_50x50.h5"
