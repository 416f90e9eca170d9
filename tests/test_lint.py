"""The code stays clean: ruff's pyflakes and pycodestyle checks (configured in pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ruff_finds_nothing():
    if shutil.which("ruff", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("ruff is not installed in this environment (pip install -e '.[test]')")
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
