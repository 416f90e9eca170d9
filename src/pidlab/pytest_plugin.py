"""pytest fixtures for testing process-management code against both backends.

Installed with pidlab (entry point `pytest11`), so any project gets:

* ``pidlab_model``  -- a fresh model per test, checked with ``k.check()`` at teardown;
* ``pidlab_live``   -- a live sandbox (a fresh pid namespace of the running
  kernel), skipped with the reason when this machine cannot start one;
* ``pidlab_kernel`` -- parametrised over both: the same test runs twice.

Markers: ``@pytest.mark.model_only(reason)`` skips the live run of a test
that only the model can show (the reason is required and reported);
``@pytest.mark.live_only(reason)`` does the opposite.

A test that meets ``pidlab.Unsupported`` (a call one backend cannot carry out
here, such as a write to a machine-wide sysctl on a host) is skipped with
that reason, never passed.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .api import BackendUnavailable, Unsupported
from .model import Kernel


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "model_only(reason): the live kernel cannot show this")
    config.addinivalue_line("markers", "live_only(reason): only the live kernel can show this")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    except Unsupported as e:
        pytest.skip(f"unsupported here: {e}")


def _reason(marker: pytest.Mark) -> str:
    reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
    if not reason:
        raise pytest.UsageError(f"@pytest.mark.{marker.name} needs a reason")
    return reason


def _model() -> Iterator[Kernel]:
    k = Kernel()
    yield k
    k.check()
    k.close()


def _live() -> Iterator[object]:
    from .live import LiveKernel
    try:
        k = LiveKernel()
    except BackendUnavailable as e:
        pytest.skip(f"live backend unavailable: {e}")
    try:
        yield k
    finally:
        k.close()


@pytest.fixture
def pidlab_model() -> Iterator[Kernel]:
    """A fresh model; its invariants are checked when the test ends."""
    yield from _model()


@pytest.fixture
def pidlab_live() -> Iterator[object]:
    """A fresh live sandbox, or a skip saying why there cannot be one."""
    yield from _live()


@pytest.fixture(params=["model", "live"])
def pidlab_kernel(request: pytest.FixtureRequest) -> Iterator[object]:
    """Both backends, one after the other: the same test, run on each."""
    node = request.node
    if request.param == "live":
        m = node.get_closest_marker("model_only")
        if m is not None:
            pytest.skip(f"model only: {_reason(m)}")
        yield from _live()
    else:
        m = node.get_closest_marker("live_only")
        if m is not None:
            pytest.skip(f"live only: {_reason(m)}")
        yield from _model()
