"""Where the shared real recordings live (../shared/data/real beside the repository)."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


def real_file(name: str) -> Path:
    path = REAL_DATA / name
    if not path.is_file():
        pytest.skip(f"real recording {path} is absent (../shared/data/real is not beside this checkout)")
    return path
