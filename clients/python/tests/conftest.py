"""Shared fixtures: where the protocol's test vectors are.

The vectors live in the repository at ``specs/vectors`` (two levels above
``clients/python``); ``VERDICT_VECTORS`` points elsewhere (e.g. for an installed copy).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

CLIENT_ROOT = Path(__file__).resolve().parent.parent
REPO_ROOT = CLIENT_ROOT.parent.parent


def vectors_dir() -> Path:
    """``$VERDICT_VECTORS`` or ``<repo>/specs/vectors``."""
    override = os.environ.get("VERDICT_VECTORS")
    return Path(override) if override else REPO_ROOT / "specs" / "vectors"


def load_vector(name: str) -> Any:
    """A vector file, failing (not skipping) when it is missing: the shared vectors are
    part of the repository."""
    path = vectors_dir() / name
    if not path.exists():
        pytest.fail(f"missing test vectors {path} (set VERDICT_VECTORS)")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def vectors() -> Path:
    return vectors_dir()
