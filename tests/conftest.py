"""Fixtures of pidlab's own suite: every scenario runs on the model and the live kernel."""

from __future__ import annotations

import pytest


@pytest.fixture
def kernel(pidlab_kernel):
    """The backend under test (parametrised: model, then live)."""
    return pidlab_kernel


@pytest.fixture
def model(pidlab_model):
    return pidlab_model
