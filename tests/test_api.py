"""The public surface: both backends implement the Protocol of pidlab.api, call for call."""

from __future__ import annotations

import inspect

import pytest

import pidlab
from pidlab.api import KernelAPI, TaskAPI
from pidlab.live.kernel import LiveKernel, LiveTask
from pidlab.model.kernel import Kernel, Task


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def _shape(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults (annotations are strings in one place, objects in another)."""
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("backend", [Task, LiveTask], ids=["model", "live"])
def test_every_task_method_of_a_backend_is_in_the_protocol_with_the_same_signature(backend):
    protocol, impl = _methods(TaskAPI), _methods(backend)
    assert sorted(impl) == sorted(protocol)
    for name, sig in protocol.items():
        assert _shape(impl[name]) == _shape(sig), name


def test_a_model_task_is_a_taskapi_and_the_model_a_kernelapi():
    k = pidlab.Kernel()
    assert isinstance(k, KernelAPI) and isinstance(k.init, TaskAPI)
    assert isinstance(k.init.fork().task, TaskAPI)


def test_both_kernels_have_the_members_of_the_contract():
    for cls in (Kernel, LiveKernel):
        for member in ("init", "close", "__enter__", "__exit__", "name"):
            assert hasattr(cls, member), (cls, member)
